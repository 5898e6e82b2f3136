package gateway

import (
	"errors"
	"net"
	"net/url"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestEachDialTriesAgainOnlyAfterAFailedDial(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	cases := []struct {
		name     string
		backends int
		results  []error // what try returns on each call; nil after the list
		stopAt   int     // stop reports true from this call on (0: never)
		want     error
		calls    int
		pauses   time.Duration // at least this long in all
	}{
		{"a Service whose first pick stopped listening", 1, []error{refused}, 0, nil, 2, redialPause},
		{"a Service refusing every dial", 1, []error{refused, refused, refused, refused}, 0, refused, dialTries, redialPause * 3},
		{"the next backend takes the connection", 2, []error{refused}, 0, nil, 2, 0},
		{"both backends refuse, the first is dialled again", 2, []error{refused, refused, refused}, 0, refused, dialTries, redialPause},
		{"four backends are each tried once", 4, []error{refused, refused, refused, refused}, 0, refused, 4, 0},
		{"a failure after the dial is not retried here", 1, []error{reset}, 0, reset, 1, 0},
		{"a request that must not go again stops", 1, []error{refused, refused}, 1, refused, 1, 0},
		{"an upstream without a backend", 0, nil, 0, errNoBackend, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := &Upstream{Name: "svc", backends: make([]*url.URL, tc.backends)}
			var got []int
			start := time.Now()
			err := u.eachDial(func() bool { return tc.stopAt > 0 && len(got) >= tc.stopAt }, func(i int) error {
				got = append(got, i)
				if len(got) <= len(tc.results) {
					return tc.results[len(got)-1]
				}
				return nil
			})
			if !errors.Is(err, tc.want) && err != tc.want {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if len(got) != tc.calls {
				t.Fatalf("%d tries (%v), want %d", len(got), got, tc.calls)
			}
			// Backends in round robin from the first one picked.
			for k := range got {
				if want := (got[0] + k) % tc.backends; got[k] != want {
					t.Fatalf("tries went to backends %v, want round robin", got)
				}
			}
			if d := time.Since(start); d < tc.pauses {
				t.Fatalf("took %s, want the pauses before dialling a backend again (at least %s)", d, tc.pauses)
			}
		})
	}
}

func TestEachDialStartsAtTheNextBackendEachRequest(t *testing.T) {
	u := &Upstream{Name: "svc", backends: make([]*url.URL, 3)}
	var firsts []int
	for range 6 {
		first := -1
		_ = u.eachDial(func() bool { return false }, func(i int) error {
			if first < 0 {
				first = i
			}
			return nil
		})
		firsts = append(firsts, first)
	}
	want := []int{firsts[0], (firsts[0] + 1) % 3, (firsts[0] + 2) % 3, firsts[0], (firsts[0] + 1) % 3, (firsts[0] + 2) % 3}
	if !slices.Equal(firsts, want) {
		t.Fatalf("first backends %v, want %v", firsts, want)
	}
}
