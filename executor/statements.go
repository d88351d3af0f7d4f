package executor

import (
	"context"
	"sync"

	"github.com/distgres/distgres/catalog"
	"github.com/distgres/distgres/pgerr"
)

// RunStatements runs schema changes and other utility statements: the
// statements of each node and database in order on one connection, the
// nodes in parallel. It returns the first statement's command tag and the
// first error.
func RunStatements(ctx context.Context, conns ConnSource, targets []Target) (string, error) {
	type key struct {
		id catalog.NodeID
		db string
	}
	groups := map[key]*Target{}
	var order []key
	for _, t := range targets {
		k := key{t.Node.ID, t.Database}
		g, ok := groups[k]
		if !ok {
			g = &Target{Node: t.Node, Database: t.Database}
			groups[k] = g
			order = append(order, k)
		}
		g.SQL = append(g.SQL, t.SQL...)
	}
	tags := make([]string, len(order))
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, k := range order {
		wg.Add(1)
		go func(i int, t *Target) {
			defer wg.Done()
			tags[i], errs[i] = runSequential(ctx, conns, t)
		}(i, groups[k])
	}
	wg.Wait()
	tag := ""
	if len(tags) > 0 {
		tag = tags[0]
	}
	for _, err := range errs {
		if err != nil {
			return tag, err
		}
	}
	return tag, nil
}

func runSequential(ctx context.Context, conns ConnSource, t *Target) (string, error) {
	c, err := conns.Acquire(ctx, t.Node, t.Database)
	if err != nil {
		return "", err
	}
	var tag string
	for _, sql := range t.SQL {
		res, err := c.PgConn().Exec(ctx, sql).ReadAll()
		if err != nil {
			c.Release(!pgerr.FromDataNode(err))
			return "", err
		}
		if tag == "" && len(res) > 0 {
			tag = res[len(res)-1].CommandTag.String()
		}
	}
	c.Release(false)
	return tag, nil
}
