package coordinator

import (
	"testing"
	"time"
)

func TestPollGate(t *testing.T) {
	g := &pollGate{limit: 1}
	a, b := &activity{gate: g}, &activity{gate: g}
	check := func(step string, busy, hot int32, node, clientA bool) {
		t.Helper()
		if g.busy.Load() != busy || g.hot.Load() != hot || g.node() != node || a.pollClient() != clientA {
			t.Errorf("%s: busy %d hot %d node %v a.pollClient %v, want %d %d %v %v",
				step, g.busy.Load(), g.hot.Load(), g.node(), a.pollClient(), busy, hot, node, clientA)
		}
	}
	check("start", 0, 0, true, false)
	a.received() // first message: not hot (no answer before it)
	check("a's first message", 1, 0, true, false)
	a.answer()
	a.received() // the client answered at once
	check("a's second message", 1, 1, true, false)
	a.answer()
	check("a waits, hot", 0, 1, true, true)
	b.received()
	b.answer()
	b.received()
	check("b hot and busy", 1, 2, false, false)
	b.end()
	check("b gone", 0, 1, true, true)
	a.answered = time.Now().Add(-2 * hotGap) // a's client took its time
	a.received()
	check("a cooled", 1, 0, true, false)
	a.end()
	check("a gone", 0, 0, true, false)
}
