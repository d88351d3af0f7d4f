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
	key     string
	plan    *planner.Plan
	version uint64
}

func (c *planCache) init(max int) {
	c.max = max
	c.items = map[string]*list.Element{}
	c.lru = list.New()
}

func (c *planCache) get(key string, version uint64) *planner.Plan {
	p, _ := c.lookup(key, version)
	return p
}

// lookup also reports entries that record a failure (a nil plan).
func (c *planCache) lookup(key string, version uint64) (*planner.Plan, bool) {
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	cp := e.Value.(*cachedPlan)
	if cp.version != version {
		c.lru.Remove(e)
		delete(c.items, key)
		return nil, false
	}
	c.lru.MoveToFront(e)
	return cp.plan, true
}

func (c *planCache) put(key string, p *planner.Plan) {
	c.putVersion(key, p, p.CatalogVersion)
}

// putVersion stores a plan (nil: planning failed) made at a catalog
// version.
func (c *planCache) putVersion(key string, p *planner.Plan, version uint64) {
	if e, ok := c.items[key]; ok {
		cp := e.Value.(*cachedPlan)
		cp.plan, cp.version = p, version
		c.lru.MoveToFront(e)
		return
	}
	c.items[key] = c.lru.PushFront(&cachedPlan{key: key, plan: p, version: version})
	if c.lru.Len() > c.max {
		last := c.lru.Back()
		c.lru.Remove(last)
		delete(c.items, last.Value.(*cachedPlan).key)
	}
}

func (c *planCache) clear() { c.init(c.max) }
