package order

import (
	"strings"
	"testing"
)

func TestOrderIDsAre32HexCharactersAndDoNotRepeat(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := newOrderID()
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("newOrderID() = %q, want 32 lowercase hex characters", id)
		}
		if seen[id] {
			t.Fatalf("newOrderID() repeated %q", id)
		}
		seen[id] = true
	}
}
