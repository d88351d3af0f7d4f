package coordinator

import (
	"sync/atomic"
	"time"
)

// Polling sockets. Before a read parks its goroutine, it may poll the
// socket for up to pollBudget: an answer that comes within it (a data
// node's point lookup takes 20-40 µs on loopback, a driver's next
// statement as little) is read without the sleep and wake-up of the
// reading thread, which is most of the latency the coordinator adds for
// one client (about 90 -> under 20 µs here). Polling spends CPU that busy
// clients need, so reads poll only while at most pollGate.limit sessions
// are busy and hot: one per four cores, at least one.
const (
	pollBudget = 50 * time.Microsecond
	// hotGap: a session is hot while its client sends the next message
	// within hotGap of the last answer.
	hotGap = time.Millisecond
)

// pollGate counts the sessions that decide whether reads poll.
type pollGate struct {
	busy  atomic.Int32 // sessions working on a client message
	hot   atomic.Int32 // sessions whose clients answer within hotGap
	limit int32
}

// node reports whether a read of a data node's answer may poll.
func (g *pollGate) node() bool {
	return g.busy.Load() <= g.limit && g.hot.Load() <= g.limit
}

// activity is one session's part in the pollGate counts.
type activity struct {
	gate      *pollGate
	busy, hot bool
	answered  time.Time
}

// received notes that a client message arrived. The first one after an
// answer starts the session's work (the rest of its batch, up to the
// Sync, belongs to the same) and says whether the client is hot.
func (a *activity) received() {
	if a.busy {
		return
	}
	a.busy = true
	a.gate.busy.Add(1)
	if hot := time.Since(a.answered) < hotGap; hot != a.hot {
		a.hot = hot
		if hot {
			a.gate.hot.Add(1)
		} else {
			a.gate.hot.Add(-1)
		}
	}
}

// answer notes that the session answered (ReadyForQuery) and waits for
// its client.
func (a *activity) answer() {
	a.answered = time.Now()
	a.idle()
}

// idle notes that the session works on nothing.
func (a *activity) idle() {
	if a.busy {
		a.busy = false
		a.gate.busy.Add(-1)
	}
}

// end takes the session out of the counts.
func (a *activity) end() {
	a.idle()
	if a.hot {
		a.hot = false
		a.gate.hot.Add(-1)
	}
}

// pollClient reports whether the session's read of its client may poll:
// its client answers fast and no session is at work.
func (a *activity) pollClient() bool {
	return a.hot && a.gate.busy.Load() == 0 && a.gate.hot.Load() <= a.gate.limit
}
