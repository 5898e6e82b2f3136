// Package health serves /healthz (the process is alive) and /readyz (every
// required dependency answers and the process is not shutting down).
//
// A dependency the service can serve without (a cache, a broker behind an
// outbox) is degradable: when it fails, /readyz still answers 200, with status
// "degraded" and the failure in the body. On Kubernetes /readyz is the
// readiness probe, so a required dependency that fails takes the pod out of its
// Service, but a degradable one must not: with Redis down every product pod
// would leave the Service, and reads that MySQL alone can serve would fail.
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
	degrade  map[string]bool
	shutting atomic.Bool
}

// New returns a Checker with no checks.
func New() *Checker {
	return &Checker{checks: map[string]func(context.Context) error{}, degrade: map[string]bool{}}
}

// Add registers a required check; it is called with a context bounded by
// CheckTimeout. When it fails, /readyz answers 503.
func (c *Checker) Add(name string, check func(context.Context) error) { c.add(name, check, false) }

// AddDegradable registers a check of a dependency the service can serve
// without: when it fails, /readyz answers 200 with status "degraded".
func (c *Checker) AddDegradable(name string, check func(context.Context) error) {
	c.add(name, check, true)
}

func (c *Checker) add(name string, check func(context.Context) error, degradable bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks[name] = check
	c.degrade[name] = degradable
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
	degradable := make([]bool, len(names))
	for i, n := range names {
		fns[i] = c.checks[n]
		degradable[i] = c.degrade[n]
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
	ok, degraded := true, false
	for i, n := range names {
		switch {
		case errs[i] == nil:
			res.Checks[n] = "ok"
		case degradable[i]:
			degraded = true
			res.Checks[n] = "degraded: " + errs[i].Error()
		default:
			ok = false
			res.Checks[n] = errs[i].Error()
		}
	}
	switch {
	case !ok:
		res.Status = "unavailable"
	case degraded:
		res.Status = "degraded"
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

// Readyz answers 200 when every required check passes (status "degraded"
// when a degradable one fails), else 503 with the failures.
func (c *Checker) Readyz(w http.ResponseWriter, r *http.Request) {
	ok, res := c.Check(r.Context())
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	httpx.WriteJSON(w, status, res)
}
