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
