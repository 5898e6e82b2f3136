package reqid

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMiddlewareKeepsValidIDsAndReplacesOthers(t *testing.T) {
	cases := []struct {
		in   string
		keep bool
	}{
		{"abc-123", true},
		{"trace:span.1_x", true},
		{"", false},
		{"has space", false},
		{"newline\n", false},
		{string(make([]byte, 200)), false},
	}
	for _, tc := range cases {
		var seen string
		h := Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = From(r.Context()) }))
		r := httptest.NewRequest("GET", "/", nil)
		if tc.in != "" {
			r.Header.Set(Header, tc.in)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if tc.keep && seen != tc.in {
			t.Errorf("%q: handler saw %q", tc.in, seen)
		}
		if !tc.keep && (seen == tc.in || !Valid(seen) || len(seen) != 32) {
			t.Errorf("%q: replaced by %q, want a fresh 32-char id", tc.in, seen)
		}
		if w.Header().Get(Header) != seen {
			t.Errorf("%q: response id %q != context id %q", tc.in, w.Header().Get(Header), seen)
		}
	}
}

func TestNewIDsAreValid32HexCharactersAndDoNotRepeat(t *testing.T) {
	seen := make(map[string]bool, 100000)
	for range 100000 {
		id := New()
		if len(id) != 32 || !Valid(id) || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("New() = %q, want 32 lowercase hex characters", id)
		}
		if seen[id] {
			t.Fatalf("New() repeated %q", id)
		}
		seen[id] = true
	}
}
