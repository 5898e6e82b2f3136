// Package health serves /healthz (the process is alive) and /readyz (every
// dependency answers and the process is not shutting down).
package health

import (
	"context"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"shop/internal/httpx"
)

// CheckTimeout bounds each readiness check.
const CheckTimeout = time.Second

// Checker runs named readiness checks.
type Checker struct {
	mu       sync.RWMutex
	checks   map[string]func(context.Context) error
	shutting atomic.Bool
}

// New returns a Checker with no checks.
func New() *Checker { return &Checker{checks: map[string]func(context.Context) error{}} }

// Add registers a check; it is called with a context bounded by CheckTimeout.
func (c *Checker) Add(name string, check func(context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
}

// ShuttingDown makes /readyz answer 503 from now on.
func (c *Checker) ShuttingDown() { c.shutting.Store(true) }

// Result is the /readyz and /healthz body.
type Result struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
	// Version is the build the process runs (/healthz only).
	Version string `json:"version,omitempty"`
}

// Check runs every check concurrently and reports whether all passed.
func (c *Checker) Check(ctx context.Context) (bool, Result) {
	if c.shutting.Load() {
		return false, Result{Status: "shutting down"}
	}
	c.mu.RLock()
	names := make([]string, 0, len(c.checks))
	for n := range c.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	fns := make([]func(context.Context) error, len(names))
	for i, n := range names {
		fns[i] = c.checks[n]
	}
	c.mu.RUnlock()

	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
			defer cancel()
			errs[i] = fn(cctx)
		}()
	}
	wg.Wait()
	res := Result{Status: "ok", Checks: map[string]string{}}
	ok := true
	for i, n := range names {
		if errs[i] != nil {
			ok = false
			res.Checks[n] = errs[i].Error()
		} else {
			res.Checks[n] = "ok"
		}
	}
	if !ok {
		res.Status = "unavailable"
	}
	return ok, res
}

// Healthz answers 200 while the process can serve HTTP at all, with the
// build's version (SERVICE_VERSION) in the body.
func Healthz(version string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, Result{Status: "ok", Version: version})
	}
}

// Readyz answers 200 when every check passes, else 503 with the failures.
func (c *Checker) Readyz(w http.ResponseWriter, r *http.Request) {
	ok, res := c.Check(r.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	httpx.WriteJSON(w, status, res)
}
