#!/usr/bin/env bash
# copy_memory.sh - does the coordinator's memory stay flat while a large
# COPY streams through it?
#
# Starts a distgres cluster (`distgres up`, 3 data nodes) under DIR, creates
# a table, and pipes GB gigabytes of generated text rows (about 1 KB each)
# through `psql -c "COPY ... FROM STDIN"`. While the COPY runs it samples
# the coordinator process's resident memory once a second and prints it
# with the progress; at the end, the peak (VmHWM), the rows loaded (counted
# through the coordinator) and the rate. Everything it started is stopped
# on exit.
#
# Usage: bench/copy_memory.sh [-g GB] [-d DIR]
# DIR must have room for the loaded data (about 1.3x GB) and must be
# traversable by the postgres OS user; default: a new directory in /var/tmp.
# Run from the repository root, as root (PostgreSQL runs as the postgres
# OS user) or as the postgres user.
set -euo pipefail

GB=10; BASE=/var/tmp
while getopts "g:d:h" opt; do
  case $opt in
    g) GB=$OPTARG ;; d) BASE=$OPTARG ;;
    *) sed -n "2,17p" "$0"; exit 2 ;;
  esac
done

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
PORT=${DG_PORT:-56452}
WORK=$(mktemp -d "$BASE/distgres-copymem.XXXXXX"); chmod 755 "$WORK"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

DG_PID=""
cleanup() {
  set +e
  [ -n "$DG_PID" ] && kill -INT "$DG_PID" 2>/dev/null && wait "$DG_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

log "starting distgres (3 data nodes) under $WORK"
go build -o "$WORK/distgres" ./cmd/distgres
"$WORK/distgres" up --dir "$WORK/dg" --nodes 3 --port "$PORT" --shards 24 > "$WORK/dg.out" 2> "$WORK/dg.err" &
DG_PID=$!
for _ in $(seq 1 120); do grep -q '^coordinator:' "$WORK/dg.out" 2>/dev/null && break; sleep 1; done
grep -q '^coordinator:' "$WORK/dg.out" || { cat "$WORK/dg.err" >&2; exit 1; }
# Durability is not what this measures: the data nodes skip fsync.
for port in $(grep '^data node' "$WORK/dg.out" | sed 's/.*127.0.0.1:\([0-9]*\).*/\1/'); do
  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "ALTER SYSTEM SET fsync = off" -c "ALTER SYSTEM SET synchronous_commit = off" -c "SELECT pg_reload_conf()" >/dev/null
done
URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
"$PGBIN/psql" -X -q "$URL" -c "CREATE TABLE copymem (id bigint PRIMARY KEY, payload text)"

# Rows of 1,024 bytes with the newline: an id, a tab and a payload padded
# to length.
ROWS=$(( GB * 1024 * 1024 ))
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$DG_PID/status"; }
log "coordinator RSS before COPY: $(( $(rss_kb) / 1024 )) MiB; loading $ROWS rows ($GB GiB)"

start=$(date +%s.%N)
awk -v n="$ROWS" 'BEGIN {
  pad = sprintf("%1000s", ""); gsub(/ /, "x", pad)
  for (i = 1; i <= n; i++) { id = sprintf("%d", i); print id "\t" substr(pad, 1, 1023 - length(id) - 1) }
}' | "$PGBIN/psql" -X -q "$URL" -c "COPY copymem FROM STDIN" &
COPY_PID=$!

peak=0; samples=()
while kill -0 "$COPY_PID" 2>/dev/null; do
  sleep 1
  r=$(rss_kb); [ "$r" -gt "$peak" ] && peak=$r
  samples+=("$r")
  if (( ${#samples[@]} % 15 == 0 )); then
    log "t=${#samples[@]}s coordinator RSS $(( r / 1024 )) MiB"
  fi
done
wait "$COPY_PID"
end=$(date +%s.%N)

loaded=$("$PGBIN/psql" -X -qAt "$URL" -c "SELECT count(*) FROM copymem")
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$DG_PID/status")
secs=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
first=${samples[0]:-0}; last=${samples[-1]:-0}
echo "| input | rows loaded | seconds | MB/s | coordinator RSS first / last sample (MiB) | peak RSS of the coordinator process (MiB) |"
echo "|---|---|---|---|---|---|"
awk -v gb="$GB" -v rows="$loaded" -v s="$secs" -v f="$first" -v l="$last" -v h="$hwm" 'BEGIN {
  printf "| %d GiB | %d | %s | %.0f | %.0f / %.0f | %.0f |\n", gb, rows, s, gb * 1024 / s, f / 1024, l / 1024, h / 1024 }'
[ "$loaded" = "$ROWS" ] || { log "expected $ROWS rows, found $loaded"; exit 1; }
