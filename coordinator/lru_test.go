package coordinator

import "testing"

func TestLRU(t *testing.T) {
	c := newLRU[int](2)
	c.put("a", 1)
	c.put("b", 2)
	if v, ok := c.get("a"); !ok || v != 1 { // a is now the most recent
		t.Fatalf("get(a) = %d, %v", v, ok)
	}
	c.put("c", 3) // evicts b, the least recently used
	if _, ok := c.get("b"); ok {
		t.Error("b kept past the limit")
	}
	c.put("a", 10)
	for key, want := range map[string]int{"a": 10, "c": 3} {
		if v, ok := c.get(key); !ok || v != want {
			t.Errorf("get(%s) = %d, %v, want %d", key, v, ok, want)
		}
	}
	c.remove("a")
	if _, ok := c.get("a"); ok {
		t.Error("a still there after remove")
	}
	c.clear()
	if _, ok := c.get("c"); ok {
		t.Error("c still there after clear")
	}
	c.put("d", 4)
	if v, ok := c.get("d"); !ok || v != 4 {
		t.Errorf("get(d) after clear = %d, %v", v, ok)
	}
}

func TestLRUCost(t *testing.T) {
	c := newLRU[string](10)
	c.putCost("a", "a", 4)
	c.putCost("b", "b", 4)
	c.putCost("c", "c", 4) // 12 > 10: a goes
	if _, ok := c.get("a"); ok {
		t.Error("a kept past the cost limit")
	}
	for _, k := range []string{"b", "c"} {
		if _, ok := c.get(k); !ok {
			t.Errorf("%s dropped though it fits", k)
		}
	}
	c.putCost("b", "b2", 1) // cheaper now: d fits beside b and c
	c.putCost("d", "d", 5)
	if c.used != 10 || len(c.items) != 3 {
		t.Errorf("used %d in %d entries, want 10 in 3", c.used, len(c.items))
	}
	c.putCost("huge", "h", 11) // dearer than the whole cache
	if _, ok := c.get("huge"); ok || c.used != 0 {
		t.Errorf("an entry dearer than the cache was kept (used %d)", c.used)
	}
}
