// Command bench measures the CanaryRelease controller against a real API server (envtest):
// N releases (default 200), each with its own route and canary Deployment, reconciled by one
// manager. It prints reconciles per second, API server requests per reconcile (split into reads,
// watches and writes: reads must come from the cache) and memory.
//
//	go run ./bench -releases 200 -interval 2s -workers 4
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"shop/controller/internal/api/v1alpha1"
	"shop/controller/internal/app"
	"shop/controller/internal/testenv"
)

// counter counts the requests a client sends, by kind.
type counter struct {
	next                   http.RoundTripper
	reads, watches, writes atomic.Int64
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	switch {
	case r.Method == http.MethodGet && r.URL.Query().Get("watch") == "true":
		c.watches.Add(1)
	case r.Method == http.MethodGet:
		c.reads.Add(1)
	default:
		c.writes.Add(1)
	}
	return c.next.RoundTrip(r)
}

type snapshot struct{ reads, watches, writes int64 }

func (c *counter) snap() snapshot {
	return snapshot{c.reads.Load(), c.watches.Load(), c.writes.Load()}
}

func (s snapshot) minus(o snapshot) snapshot {
	return snapshot{s.reads - o.reads, s.watches - o.watches, s.writes - o.writes}
}

// reconciles is controller-runtime's own count of the controller's reconciles.
func reconciles() int64 {
	families, _ := metrics.Registry.Gather()
	var n float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "controller" && l.GetValue() == "canaryrelease" {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int64(n)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("releases", 200, "CanaryRelease objects")
	interval := flag.Duration("interval", 2*time.Second, "the releases' step interval")
	workers := flag.Int("workers", 4, "MaxConcurrentReconciles")
	idle := flag.Duration("idle", 5*time.Second, "how long the idempotent-reconcile phase runs")
	flag.Parse()
	steps := []int32{25, 50, 100}

	env, cfg, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	prom := testenv.NewFakeProm()
	defer prom.Close()

	setup, err := client.New(cfg, client.Options{Scheme: app.Scheme()})
	if err != nil {
		return err
	}
	ctx := context.Background()
	t := time.Now()
	for i := 0; i < *n; i++ {
		ns := fmt.Sprintf("bench-%03d", i)
		for _, f := range []func() error{
			func() error { return testenv.Namespace(ctx, setup, ns) },
			func() error { return testenv.HTTPRoute(ctx, setup, ns) },
			func() error { return testenv.Deployment(ctx, setup, ns, true) },
			func() error {
				return setup.Create(ctx, testenv.Release(ns, "gateway", steps, *interval, 1))
			},
		} {
			if err := f(); err != nil {
				return err
			}
		}
		prom.Set(ns, 1)
	}
	fmt.Printf("canary-controller bench: %d releases (own route and Deployment each), steps %v, interval %v, %d workers, GOMAXPROCS %d\n",
		*n, steps, *interval, *workers, runtime.GOMAXPROCS(0))
	fmt.Printf("setup: %d namespaces with route, Deployment and release created in %v\n", *n, time.Since(t).Round(time.Millisecond))

	// The manager's requests are counted; the setup client above is not.
	count := &counter{}
	userCfg, err := testenv.ControllerUser(ctx, env, setup)
	if err != nil {
		return err
	}
	mcfg := rest.CopyConfig(userCfg)
	mcfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { count.next = rt; return count }
	opts := app.Options{PrometheusURL: prom.URL, AnalysisTimeout: 5 * time.Second, MetricsAddr: "0", ProbeAddr: "0",
		MaxConcurrent: *workers, LogLevel: "error"}
	mgr, rec, err := app.NewManager(mcfg, opts, app.Logger(opts.LogLevel))
	if err != nil {
		return err
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- mgr.Start(mctx) }()
	defer func() { cancel(); <-done }()

	phases := func() map[v1alpha1.Phase]int {
		var list v1alpha1.CanaryReleaseList
		m := map[v1alpha1.Phase]int{}
		if err := setup.List(ctx, &list); err == nil {
			for _, cr := range list.Items {
				m[cr.Status.Phase]++
			}
		}
		return m
	}
	waitFor := func(what string, timeout time.Duration, ok func(map[v1alpha1.Phase]int) bool) error {
		t0 := time.Now()
		for {
			p := phases()
			if ok(p) {
				return nil
			}
			if time.Since(t0) > timeout {
				return fmt.Errorf("%s not reached after %v: %v", what, timeout, p)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	// Burst: every release's first reconciles (finalizer, route patch, status) at once.
	if !mgr.GetCache().WaitForCacheSync(mctx) {
		return fmt.Errorf("cache did not sync")
	}
	synced := time.Since(start)
	afterSync := count.snap()
	r0 := reconciles()
	burstT0 := time.Now()
	if err := waitFor("every release carrying traffic", 2*time.Minute, func(p map[v1alpha1.Phase]int) bool {
		return p[v1alpha1.PhaseProgressing]+p[v1alpha1.PhasePromoted] == *n
	}); err != nil {
		return err
	}
	burst := time.Since(burstT0)
	rb := reconciles() - r0
	fmt.Printf("cache synced %v after start (%d LIST/GET, %d WATCH requests for the informers)\n",
		synced.Round(time.Millisecond), afterSync.reads, afterSync.watches)
	fmt.Printf("burst: %d new releases all carrying traffic %v after the sync: %d reconciles, %.0f reconciles/s\n",
		*n, burst.Round(time.Millisecond), rb, float64(rb)/burst.Seconds())

	// Rollout: every release through every step to Promoted.
	total := time.Duration(len(steps)) * *interval
	err = waitFor("every release Promoted", total+3*time.Minute, func(p map[v1alpha1.Phase]int) bool {
		return p[v1alpha1.PhasePromoted] == *n
	})
	if err != nil {
		return err
	}
	rollout := time.Since(start)
	recs := reconciles()
	used := count.snap().minus(afterSync)
	fmt.Printf("rollout: all %d Promoted %v after start (%d steps x %v = %v minimum); %d reconciles, %d Prometheus queries\n",
		*n, rollout.Round(time.Millisecond), len(steps), *interval, total, recs, prom.Queries.Load())
	fmt.Printf("API requests after the cache synced: %d reads (GET/LIST), %d watches, %d writes (patch/update/create incl. events)\n",
		used.reads, used.watches, used.writes)
	fmt.Printf("per reconcile: %.3f reads, %.3f writes; per release: %.1f writes\n",
		float64(used.reads)/float64(recs), float64(used.writes)/float64(recs), float64(used.writes)/float64(*n))

	// Idempotent reconciles: nothing changed, so a reconcile reads the cache and writes nothing.
	before := count.snap()
	var calls atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(*idle)
	var firstErr atomic.Value
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; time.Now().Before(deadline); i += *workers {
				req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: fmt.Sprintf("bench-%03d", i%*n), Name: "gateway"}}
				if _, err := rec.Reconcile(mctx, req); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				calls.Add(1)
			}
		}(w)
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return fmt.Errorf("idempotent reconcile: %v", e)
	}
	idleReq := count.snap().minus(before)
	fmt.Printf("idempotent reconciles (Promoted releases, %d goroutines, %v): %d calls, %.0f reconciles/s, %d API reads, %d API writes\n",
		*workers, *idle, calls.Load(), float64(calls.Load())/idle.Seconds(), idleReq.reads, idleReq.writes)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("memory: heap in use after GC %.1f MiB (cache of %d releases, routes and Deployments, plus the bench's own client), peak RSS %s\n",
		float64(ms.HeapInuse)/(1<<20), *n, peakRSS())
	return nil
}

// peakRSS reads the process's high-water resident set size from /proc.
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), "%d", &kb)
			return fmt.Sprintf("%.1f MiB", float64(kb)/1024)
		}
	}
	return "unknown"
}
