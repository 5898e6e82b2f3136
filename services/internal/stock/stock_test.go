package stock

import "testing"

func TestValidateItems(t *testing.T) {
	got, err := ValidateItems([]Item{{ProductID: 9, Quantity: 1}, {ProductID: 2, Quantity: 3}})
	if err != nil || got[0].ProductID != 2 || got[1].ProductID != 9 {
		t.Fatalf("sorted: %v %v", got, err)
	}
	bad := []struct {
		name  string
		items []Item
	}{
		{"none", nil},
		{"zero quantity", []Item{{1, 0}}},
		{"negative quantity", []Item{{1, -2}}},
		{"huge quantity", []Item{{1, MaxQuantity + 1}}},
		{"zero product", []Item{{0, 1}}},
		{"duplicate product", []Item{{3, 1}, {3, 2}}},
		{"too many lines", make([]Item, MaxItems+1)},
	}
	for _, tc := range bad {
		if _, err := ValidateItems(tc.items); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestValidOrderID(t *testing.T) {
	cases := []struct {
		id   string
		want bool
	}{
		{"ord_1-A", true},
		{"", false},
		{"has space", false},
		{"semi;colon", false},
		{string(make([]byte, 65)), false},
		{"a234567890123456789012345678901234567890123456789012345678901234", true},
	}
	for _, tc := range cases {
		if got := ValidOrderID(tc.id); got != tc.want {
			t.Errorf("ValidOrderID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
