package gtm

import (
	"context"
	"time"

	"github.com/distgres/distgres/catalog"
)

// forget queues a finished transaction's record for removal. Records are
// removed in batches, one log entry for all the transactions that finished
// in the same few milliseconds, so that a busy coordinator does not pay a
// second log write per commit.
func (m *Manager) forget(id string) {
	select {
	case m.forgets <- id:
	case <-m.stop:
	}
}

// forgetLoop applies the queued ForgetTx batches until the manager closes;
// what is left is forgotten by a later recovery pass.
func (m *Manager) forgetLoop() {
	var batch []string
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if _, err := m.cfg.Log.Apply(ctx, catalog.ForgetTx{IDs: batch}); err != nil {
			m.log.Warn("gtm: forgetting finished transactions failed; recovery will retry", "count", len(batch), "err", err)
		}
		cancel()
		batch = nil
	}
	for {
		select {
		case <-m.stop:
			return
		case id := <-m.forgets:
			batch = append(batch, id)
			// Collect whatever else finishes meanwhile.
			for len(batch) < 512 {
				select {
				case id := <-m.forgets:
					batch = append(batch, id)
					continue
				case <-time.After(2 * time.Millisecond):
				}
				break
			}
			flush()
		}
	}
}
