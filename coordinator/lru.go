package coordinator

import "container/list"

// lru maps keys to values and keeps the most recently used ones, as many
// as fit in max units of cost.
type lru[V any] struct {
	max, used int
	items     map[string]*list.Element
	order     *list.List
}

type lruEntry[V any] struct {
	key   string
	value V
	cost  int
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, items: map[string]*list.Element{}, order: list.New()}
}

func (c *lru[V]) get(key string) (V, bool) {
	e, ok := c.items[key]
	if !ok {
		var zero V
		return zero, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*lruEntry[V]).value, true
}

// put stores v under key at a cost of one unit.
func (c *lru[V]) put(key string, v V) { c.putCost(key, v, 1) }

// putCost stores v under key at the given cost and drops the least
// recently used entries until the rest fit (an entry dearer than the
// whole cache is not kept).
func (c *lru[V]) putCost(key string, v V, cost int) {
	if e, ok := c.items[key]; ok {
		ent := e.Value.(*lruEntry[V])
		c.used += cost - ent.cost
		ent.value, ent.cost = v, cost
		c.order.MoveToFront(e)
	} else {
		c.items[key] = c.order.PushFront(&lruEntry[V]{key: key, value: v, cost: cost})
		c.used += cost
	}
	for c.used > c.max {
		c.removeElement(c.order.Back())
	}
}

func (c *lru[V]) remove(key string) {
	if e, ok := c.items[key]; ok {
		c.removeElement(e)
	}
}

func (c *lru[V]) removeElement(e *list.Element) {
	ent := e.Value.(*lruEntry[V])
	c.order.Remove(e)
	delete(c.items, ent.key)
	c.used -= ent.cost
}

func (c *lru[V]) clear() {
	c.items = map[string]*list.Element{}
	c.order.Init()
	c.used = 0
}
