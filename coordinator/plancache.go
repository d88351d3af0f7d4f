package coordinator

import (
	"github.com/distgres/distgres/planner"
)

// planCache keeps a session's recent plans by statement text and declared
// parameter types; a plan made against an older catalog is not used.
type planCache struct {
	plans *lru[cachedPlan]
}

type cachedPlan struct {
	plan    *planner.Plan
	version uint64
}

func (c *planCache) init(max int) {
	c.plans = newLRU[cachedPlan](max)
}

func (c *planCache) get(key string, version uint64) *planner.Plan {
	p, _ := c.lookup(key, version)
	return p
}

// lookup also reports entries that record a failure (a nil plan).
func (c *planCache) lookup(key string, version uint64) (*planner.Plan, bool) {
	cp, ok := c.plans.get(key)
	if !ok {
		return nil, false
	}
	if cp.version != version {
		c.plans.remove(key)
		return nil, false
	}
	return cp.plan, true
}

func (c *planCache) put(key string, p *planner.Plan) {
	c.putVersion(key, p, p.CatalogVersion)
}

// putVersion stores a plan (nil: planning failed) made at a catalog
// version.
func (c *planCache) putVersion(key string, p *planner.Plan, version uint64) {
	c.plans.put(key, cachedPlan{plan: p, version: version})
}

func (c *planCache) clear() { c.plans.clear() }
