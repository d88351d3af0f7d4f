package executor

import (
	"strconv"
	"testing"
)

// cmpIntText must order integers as their values do.
func TestCmpIntText(t *testing.T) {
	vals := []int64{-9223372036854775808, -1000, -999, -10, -9, -1, 0, 1, 9, 10, 99, 100, 12345, 9223372036854775807}
	for _, a := range vals {
		for _, b := range vals {
			want := cmpInt(a, b)
			got := cmpIntText([]byte(strconv.FormatInt(a, 10)), []byte(strconv.FormatInt(b, 10)))
			if got != want {
				t.Errorf("cmpIntText(%d, %d) = %d, want %d", a, b, got, want)
			}
		}
	}
}
