package coordinator

import (
	"container/list"

	"github.com/distgres/distgres/planner"
)

// planCache keeps a session's recent plans by statement text and declared
// parameter types; a plan made against an older catalog is not used.
type planCache struct {
	max   int
	items map[string]*list.Element
	lru   *list.List
}

type cachedPlan struct {
	key  string
	plan *planner.Plan
}

func (c *planCache) init(max int) {
	c.max = max
	c.items = map[string]*list.Element{}
	c.lru = list.New()
}

func (c *planCache) get(key string, version uint64) *planner.Plan {
	e, ok := c.items[key]
	if !ok {
		return nil
	}
	cp := e.Value.(*cachedPlan)
	if cp.plan.CatalogVersion != version {
		c.lru.Remove(e)
		delete(c.items, key)
		return nil
	}
	c.lru.MoveToFront(e)
	return cp.plan
}

func (c *planCache) put(key string, p *planner.Plan) {
	if e, ok := c.items[key]; ok {
		e.Value.(*cachedPlan).plan = p
		c.lru.MoveToFront(e)
		return
	}
	c.items[key] = c.lru.PushFront(&cachedPlan{key: key, plan: p})
	if c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.items, last.Value.(*cachedPlan).key)
	}
}

func (c *planCache) clear() { c.init(c.max) }
