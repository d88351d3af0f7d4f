#!/usr/bin/env bash
# compare.sh - distgres against stock PostgreSQL and PgBouncer, in one run on
# one machine.
#
# Starts, on 127.0.0.1 only: a stock PostgreSQL 15 ("direct"), PgBouncer in
# front of it ("bouncer", session pooling so that -M prepared works with the
# Debian 12 PgBouncer 1.18), and a distgres cluster (`distgres up`, 3 data
# nodes). Then measures and prints ratios:
#   (a) pgbench -S tps, simple, extended and prepared, 1 and 8 clients
#   (b) pgbench TPC-B-like tps (its transactions span nodes in distgres)
#   (c) COPY ingest rows/s of ROWS rows
#   (d) a scatter aggregate (count, sum, avg) and a GROUP BY over those rows
#   (e) the coordinator's CPU per router statement (its /proc accounting)
# Everything it started is stopped on exit. With -a the results, with the
# machine's description, are appended to BENCHMARKS.md.
#
# Usage: bench/compare.sh [-T seconds] [-s scale] [-R rows] [-r rounds] [-n nodes] [-m] [-u] [-a]
# -r runs the pgbench measurements (a) and (b) in that many rounds, each
# round direct, PgBouncer and distgres one after the other, and reports
# each figure as the median over the rounds, with every round's ratio to
# PgBouncer in the note: on a shared machine one run's ratio moves by 0.2.
# -n sets the number of data nodes (default 3).
# distgres's coordinator reaches its data nodes through their Unix sockets
# (all run on this machine). PgBouncer reaches PostgreSQL over loopback
# TCP by default, as in shared/bench/proxy_baseline.sh, against which the
# targets were set; -u gives it PostgreSQL's Unix socket instead.
# -m puts the distgres cluster (data nodes and the Raft log) on /dev/shm:
# its commit-decision log then costs no real fsync, as the compared
# PostgreSQL, which runs with fsync off.
# Run from the repository root, as root (PostgreSQL runs as the postgres
# OS user) or as the postgres user.
set -euo pipefail

DURATION=10; SCALE=10; ROWS=10000000; ROUNDS=1; NODES=3; APPEND=0; MEMORY=0; BOUNCER_UNIX=0
while getopts "T:s:R:r:n:muah" opt; do
  case $opt in
    T) DURATION=$OPTARG ;; s) SCALE=$OPTARG ;; R) ROWS=$OPTARG ;; r) ROUNDS=$OPTARG ;; n) NODES=$OPTARG ;;
    a) APPEND=1 ;; m) MEMORY=1 ;; u) BOUNCER_UNIX=1 ;;
    *) sed -n "2,31p" "$0"; exit 2 ;;
  esac
done

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
HOST=127.0.0.1
PG_PORT=${PG_PORT:-56440}; BOUNCER_PORT=${BOUNCER_PORT:-56441}; DG_PORT=${DG_PORT:-56442}
WORK=$(mktemp -d /tmp/distgres-bench.XXXXXX); chmod 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then chown postgres "$WORK"; fi
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

PIDS=()
cleanup() {
  set +e
  [ -f "$WORK/bouncer.pid" ] && kill "$(cat "$WORK/bouncer.pid")" 2>/dev/null
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1
  [ "${DG_DIR:-}" != "" ] && [ "$MEMORY" = 1 ] && rm -rf "$(dirname "$DG_DIR")"
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v pgbouncer >/dev/null; then
  [ "$(id -u)" -eq 0 ] || { log "pgbouncer is missing"; exit 1; }
  log "installing pgbouncer"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null
fi

log "starting stock PostgreSQL on $PG_PORT"
as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres -A trust --no-sync >/dev/null
cat >> "$WORK/pg/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
unix_socket_directories = '$WORK'
CONF
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start >/dev/null

log "starting pgbouncer on $BOUNCER_PORT"
BOUNCER_SERVER=$HOST; BOUNCER_LINK="loopback TCP"
if [ "$BOUNCER_UNIX" = 1 ]; then BOUNCER_SERVER=$WORK; BOUNCER_LINK="PostgreSQL's Unix socket"; fi
cat > "$WORK/bouncer.ini" <<CONF
[databases]
postgres = host=$BOUNCER_SERVER port=$PG_PORT dbname=postgres
[pgbouncer]
listen_addr = $HOST
listen_port = $BOUNCER_PORT
auth_type = trust
auth_file = $WORK/users.txt
pool_mode = session
max_client_conn = 200
default_pool_size = 50
logfile = $WORK/bouncer.log
pidfile = $WORK/bouncer.pid
unix_socket_dir =
CONF
echo '"postgres" ""' > "$WORK/users.txt"
chown -R postgres "$WORK" 2>/dev/null || true
as_pg pgbouncer "$WORK/bouncer.ini" >/dev/null 2>&1 &
PIDS+=($!)

log "starting distgres ($NODES data nodes) on $DG_PORT"
go build -o "$WORK/distgres" ./cmd/distgres
DG_DIR="$WORK/dg"
if [ "$MEMORY" = 1 ]; then DG_DIR=$(mktemp -d /dev/shm/distgres-bench.XXXXXX); chmod 755 "$DG_DIR"; DG_DIR="$DG_DIR/dg"; fi
"$WORK/distgres" up --dir "$DG_DIR" --nodes "$NODES" --port "$DG_PORT" --shards 24 > "$WORK/dg.out" 2> "$WORK/dg.err" &
DG_PID=$!; PIDS+=($DG_PID)
for _ in $(seq 1 120); do grep -q '^coordinator:' "$WORK/dg.out" 2>/dev/null && break; sleep 1; done
grep -q '^coordinator:' "$WORK/dg.out" || { cat "$WORK/dg.err" >&2; exit 1; }
# The data nodes are tuned like the stock server.
for port in $(grep '^data node' "$WORK/dg.out" | sed 's/.*127.0.0.1:\([0-9]*\).*/\1/'); do
  "$PGBIN/psql" -X -q -h $HOST -p "$port" -U postgres -d postgres -c "ALTER SYSTEM SET fsync = off" -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
done

url() { echo "postgres://postgres@$HOST:$1/postgres?sslmode=disable"; }
DIRECT=$(url $PG_PORT); BOUNCER=$(url $BOUNCER_PORT); DG=$(url $DG_PORT)

log "pgbench -i -s $SCALE on direct and on distgres"
pgbench -i -q -s "$SCALE" "$DIRECT" >/dev/null 2>&1
pgbench -i -q -s "$SCALE" "$DG" >/dev/null 2>&1

tps() { # url clients mode script-args...
  local u=$1 c=$2 m=$3; shift 3
  pgbench -n -c "$c" -j "$(( c < 2 ? 1 : 2 ))" -T "$DURATION" -M "$m" "$@" "$u" 2>/dev/null | sed -n 's/^tps = \([0-9]*\).*/\1/p'
}
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

RESULTS=()
row() { RESULTS+=("$(printf '| %s | %s | %s | %s | %s | %s |' "$@")"); }

# rounds clients mode script-args...: runs pgbench on direct, PgBouncer
# and distgres, in turn, ROUNDS times and sets D, B, G (median tps),
# CPU_US (the coordinator's CPU per transaction over all rounds) and
# PER_ROUND (each round's distgres/PgBouncer ratio).
rounds() {
  local c=$1 m=$2; shift 2
  local ds=() bs=() gs=() ticks=0 n=0 t0 t1 g
  PER_ROUND=""
  for _ in $(seq 1 "$ROUNDS"); do
    ds+=("$(tps "$DIRECT" "$c" "$m" "$@")"); bs+=("$(tps "$BOUNCER" "$c" "$m" "$@")")
    t0=$(cpu_ticks $DG_PID); g=$(tps "$DG" "$c" "$m" "$@"); t1=$(cpu_ticks $DG_PID)
    gs+=("$g"); ticks=$((ticks + t1 - t0)); n=$((n + ${g:-0} * DURATION))
    PER_ROUND="$PER_ROUND${PER_ROUND:+, }$(ratio "$g" "${bs[-1]}")"
  done
  D=$(median "${ds[@]}"); B=$(median "${bs[@]}"); G=$(median "${gs[@]}")
  CPU_US=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$n" 'BEGIN { if (n > 0) printf "%.1f", t / hz * 1e6 / n; else print "-" }')
}
rounds_note() { if [ "$ROUNDS" -gt 1 ]; then echo "; rounds vs pgbouncer $PER_ROUND"; fi; }

log "(a) pgbench -S"
for mode in simple extended prepared; do
  for c in 1 8; do
    rounds $c $mode -S
    note="coordinator CPU $CPU_US µs/stmt"
    if [ "$c" = 1 ]; then # one client waits for each answer: 1/tps is its latency
      note="$note; latency $(awk -v d="$D" -v g="$G" 'BEGIN { if (d > 0 && g > 0) printf "%+.0f", 1e6 / g - 1e6 / d; else print "-" }') µs over direct"
    fi
    row "pgbench -S -M $mode, $c client(s)" "$D" "$B" "$G" "$(ratio "$G" "$D") / $(ratio "$G" "$B")" "$note$(rounds_note)"
  done
done

log "(b) TPC-B-like"
rounds 8 simple
row "pgbench TPC-B-like -M simple, 8 clients" "$D" "$B" "$G" "$(ratio "$G" "$D") / $(ratio "$G" "$B")" "multi-node transactions use 2PC; coordinator CPU $CPU_US µs/transaction$(rounds_note)"

log "(c) COPY of $ROWS rows"
DATA="$WORK/ingest.tsv"
awk -v n="$ROWS" 'BEGIN { for (i = 1; i <= n; i++) printf "%d\t%d\t%d\tfiller-%d\n", i, i % 1000, i % 97, i }' > "$DATA"
copy_rate() {
  "$PGBIN/psql" -X -q "$1" -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS ingest" -c "CREATE TABLE ingest (aid bigint PRIMARY KEY, bid int, abalance int, filler text)"
  local s e; s=$(date +%s.%N)
  "$PGBIN/psql" -X -q "$1" -c "\\copy ingest FROM '$DATA'"
  e=$(date +%s.%N)
  awk -v n="$ROWS" -v s="$s" -v e="$e" 'BEGIN { printf "%.0f", n / (e - s) }'
}
d=$(copy_rate "$DIRECT"); g=$(copy_rate "$DG")
row "COPY FROM STDIN, rows/s" "$d" "-" "$g" "$(ratio "$g" "$d")" "$ROWS rows, text format"

log "(d) scatter aggregate and GROUP BY"
best_ms() { # url query: best of 3
  local u=$1 q=$2 best=""
  for _ in 1 2 3; do
    ms=$("$PGBIN/psql" -X -q "$u" -c '\timing on' -c "$q" 2>/dev/null | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1)
    best=$(awk -v a="$best" -v b="$ms" 'BEGIN { if (a == "" || b < a) print b; else print a }')
  done
  echo "$best"
}
# Vacuumed first, so that no autovacuum of the freshly loaded table (on
# one server or on each data node) shares the cores with the timed runs.
"$PGBIN/psql" -X -q "$DIRECT" -c "VACUUM ANALYZE ingest" >/dev/null; "$PGBIN/psql" -X -q "$DG" -c "VACUUM ANALYZE ingest" >/dev/null
for q in "SELECT count(*), sum(abalance), avg(abalance) FROM ingest" "SELECT bid, count(*), sum(abalance) FROM ingest GROUP BY bid"; do
  d=$(best_ms "$DIRECT" "$q"); g=$(best_ms "$DG" "$q")
  row "$q (ms, lower is better)" "$d" "-" "$g" "$(ratio "$d" "$g")" "speed ratio distgres/direct"
done

{
  echo
  echo "## $(date +%Y-%m-%d) — bench/compare.sh (distgres vs stock PostgreSQL and PgBouncer)"
  echo
  echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(awk '/MemTotal/ { printf "%.0f GiB", $2/1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), $("$PGBIN/postgres" --version), $(pgbouncer --version 2>/dev/null | head -1), $(go version | cut -d' ' -f3)."
  where="its Raft log fsynced on $(df -T "$(dirname "$DG_DIR")" | awk 'NR==2 { print $2 }')"
  per="Each pgbench run lasts ${DURATION}s"
  if [ "$ROUNDS" -gt 1 ]; then per="pgbench figures are the median of $ROUNDS interleaved runs of ${DURATION}s each"; fi
  echo "$per, scale $SCALE; distgres has $NODES data node$([ "$NODES" = 1 ] || echo s) (24 shards) on the same machine, $where, and reaches them through their Unix sockets; PgBouncer reaches PostgreSQL over $BOUNCER_LINK; pgbench connects to all three over loopback TCP; PostgreSQL and the data nodes run with fsync off."
  echo
  echo "| test | direct | pgbouncer | distgres | distgres / direct / pgbouncer | note |"
  echo "|---|---|---|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
} | tee "$WORK/results.md"
if [ "$APPEND" = 1 ]; then cat "$WORK/results.md" >> BENCHMARKS.md; log "appended to BENCHMARKS.md"; fi
