package controller_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/api/v1alpha1"
	"shop/controller/internal/app"
	"shop/controller/internal/testenv"
)

// The suite shares one API server (envtest: kube-apiserver and etcd on free ports), one controller
// manager and one Prometheus stand-in; every test works in its own namespace.
var (
	cfg     *rest.Config
	k8s     client.Client // direct client, no cache: what the tests see is what the API server holds
	prom    *testenv.FakeProm
	started bool
	nsSeq   atomic.Int64
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := testenv.Assets(); err != nil && os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "controller tests against an API server are skipped:", err)
		return m.Run() // the tests needing the API server skip; scripts/test-controller.sh fails on skips
	}
	env, c, err := testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = env.Stop() }()
	cfg = c
	prom = testenv.NewFakeProm()
	defer prom.Close()
	if k8s, err = client.New(cfg, client.Options{Scheme: app.Scheme()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// The controller runs as a user holding only config/rbac/role.yaml, with leader election on.
	userCfg, err := testenv.ControllerUser(context.Background(), env, k8s)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	opts := app.Options{PrometheusURL: prom.URL, AnalysisTimeout: 2 * time.Second, MetricsAddr: "0", ProbeAddr: "0",
		MaxConcurrent: 4, LogLevel: "warn", LeaderElect: true, LeaderElectionNS: "default", LeaderElectionID: "canary-controller-test"}
	mgr, _, err := app.NewManager(userCfg, opts, app.Logger(opts.LogLevel))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	defer func() { cancel(); <-done }()
	started = true
	return m.Run()
}

const interval = time.Second

// setup makes a namespace with the route and the canary Deployment; Prometheus answers value for it.
func setup(t *testing.T, ready bool, value float64) string {
	t.Helper()
	if !started {
		t.Skip("no kube-apiserver/etcd: run scripts/toolchain.sh etcd kube, or set KUBEBUILDER_ASSETS")
	}
	ns := fmt.Sprintf("t%d-%s", nsSeq.Add(1), strings.ToLower(strings.ReplaceAll(t.Name()[4:], "_", "")))
	if len(ns) > 60 {
		ns = ns[:60]
	}
	ctx := context.Background()
	must(t, testenv.Namespace(ctx, k8s, ns))
	must(t, testenv.HTTPRoute(ctx, k8s, ns))
	must(t, testenv.Deployment(ctx, k8s, ns, ready))
	prom.Set(ns, value)
	return ns
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond every 50ms until it holds or timeout passes, then fails with what it last saw.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var seen string
	for {
		ok, s := cond()
		if ok {
			return
		}
		seen = s
		if time.Now().After(deadline) {
			t.Fatalf("after %v, still not %s; last seen: %s", timeout, what, seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func release(t *testing.T, ns, name string) *v1alpha1.CanaryRelease {
	t.Helper()
	cr := &v1alpha1.CanaryRelease{}
	must(t, k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: name}, cr))
	return cr
}

func routeWeights(t *testing.T, ns string) (stable, canary int32) {
	t.Helper()
	r := &gatewayv1.HTTPRoute{}
	must(t, k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: testenv.Route}, r))
	return testenv.Weights(r)
}

func describe(cr *v1alpha1.CanaryRelease) string {
	s := cr.Status
	return fmt.Sprintf("phase=%s step=%d weight=%d failed=%d gen=%d/%d message=%q", s.Phase, s.CurrentStep, s.Weight,
		s.FailedChecks, s.ObservedGeneration, cr.Generation, s.Message)
}

// watchWeights records every distinct canary weight the route carries until stop is closed.
func watchWeights(t *testing.T, ns string, stop <-chan struct{}) <-chan []int32 {
	out := make(chan []int32, 1)
	go func() {
		var seen []int32
		for {
			r := &gatewayv1.HTTPRoute{}
			if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: ns, Name: testenv.Route}, r); err == nil {
				_, c := testenv.Weights(r)
				if len(seen) == 0 || seen[len(seen)-1] != c {
					seen = append(seen, c)
				}
			}
			select {
			case <-stop:
				out <- seen
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return out
}

func events(t *testing.T, ns, name string) map[string][]string {
	t.Helper()
	var list eventsv1.EventList
	must(t, k8s.List(context.Background(), &list, client.InNamespace(ns)))
	byReason := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Name == name {
			byReason[e.Reason] = append(byReason[e.Reason], e.Note)
		}
	}
	return byReason
}

func gauge(name string, labels map[string]string) (float64, bool) {
	families, _ := metrics.Registry.Gather()
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for k, v := range labels {
				if !hasLabel(m, k, v) {
					continue next
				}
			}
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue(), true
			}
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

func hasLabel(m *dto.Metric, k, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

func TestGoodCanaryIsPromotedThroughEveryStep(t *testing.T) {
	ns := setup(t, true, 0.999)
	ctx := context.Background()
	stop := make(chan struct{})
	seen := watchWeights(t, ns, stop)
	start := time.Now()
	must(t, k8s.Create(ctx, testenv.Release(ns, "gateway", []int32{10, 50, 100}, interval, 1)))

	eventually(t, 30*time.Second, "Promoted", func() (bool, string) {
		cr := release(t, ns, "gateway")
		return cr.Status.Phase == v1alpha1.PhasePromoted, describe(cr)
	})
	took := time.Since(start)
	close(stop)
	if got := <-seen; fmt.Sprint(got) != "[0 10 50 100]" {
		t.Errorf("the route's canary weight went %v, want [0 10 50 100] (one step per interval)", got)
	}
	if took < 3*interval {
		t.Errorf("promoted after %v: three steps of %v each cannot pass sooner than %v", took, interval, 3*interval)
	}
	cr := release(t, ns, "gateway")
	if s := cr.Status; s.Weight != 100 || s.CurrentStep != 2 || s.FailedChecks != 0 || s.ObservedGeneration != cr.Generation {
		t.Errorf("status %s, want weight 100 at step index 2 with no failed checks", describe(cr))
	}
	if len(cr.Status.LastAnalysis) != 1 || !cr.Status.LastAnalysis[0].Passed || cr.Status.LastAnalysis[0].Value != "0.999" {
		t.Errorf("lastAnalysis = %+v, want success-rate passed with 0.999", cr.Status.LastAnalysis)
	}
	if stable, canary := routeWeights(t, ns); stable != 0 || canary != 100 {
		t.Errorf("route weights stable=%d canary=%d, want 0/100", stable, canary)
	}
	if !containsString(cr.Finalizers, v1alpha1.Finalizer) {
		t.Errorf("finalizers %v lack %s", cr.Finalizers, v1alpha1.Finalizer)
	}
	eventually(t, 10*time.Second, "events StepStarted x3 and Promoted", func() (bool, string) {
		ev := events(t, ns, "gateway")
		return len(ev["StepStarted"]) == 3 && len(ev["Promoted"]) == 1, fmt.Sprint(ev)
	})
	if w, ok := gauge("shop_canary_release_weight", map[string]string{"namespace": ns, "release": "gateway"}); !ok || w != 100 {
		t.Errorf("shop_canary_release_weight = %v (found %v), want 100", w, ok)
	}
	if n, ok := gauge("shop_canary_analysis_checks_total", map[string]string{"namespace": ns, "query": "success-rate", "result": "pass"}); !ok || n < 3 {
		t.Errorf("shop_canary_analysis_checks_total{result=pass} = %v, want >= 3", n)
	}
	if n, ok := gauge("shop_canary_releases", map[string]string{"phase": "Promoted"}); !ok || n < 1 {
		t.Errorf("shop_canary_releases{phase=Promoted} = %v, want >= 1", n)
	}
	t.Logf("promoted through 3 steps of %v in %v", interval, took.Round(time.Millisecond))
}

func TestFailingCanaryIsAbortedWithinTheFailureLimit(t *testing.T) {
	ns := setup(t, true, 0.82)
	ctx := context.Background()
	start := time.Now()
	must(t, k8s.Create(ctx, testenv.Release(ns, "gateway", []int32{10, 50, 100}, interval, 1)))

	eventually(t, 5*time.Second, "the first step running", func() (bool, string) {
		_, c := routeWeights(t, ns)
		return c == 10, fmt.Sprintf("canary weight %d", c)
	})
	eventually(t, 30*time.Second, "Aborted", func() (bool, string) {
		cr := release(t, ns, "gateway")
		return cr.Status.Phase == v1alpha1.PhaseAborted, describe(cr)
	})
	took := time.Since(start)
	if stable, canary := routeWeights(t, ns); stable != 100 || canary != 0 {
		t.Errorf("after the abort the route has stable=%d canary=%d, want 100/0", stable, canary)
	}
	cr := release(t, ns, "gateway")
	if cr.Status.FailedChecks != 2 || cr.Status.Weight != 0 || cr.Status.CurrentStep != 0 {
		t.Errorf("status %s, want 2 failed checks (limit 1) at the first step and weight 0", describe(cr))
	}
	for _, want := range []string{`query "success-rate"`, "returned 0.82", "threshold >= 0.99"} {
		if !strings.Contains(cr.Status.Message, want) {
			t.Errorf("status.message %q does not name %q", cr.Status.Message, want)
		}
	}
	// Two failed checks, one interval each: the abort comes after the second, not later.
	if took > 2*interval+5*time.Second {
		t.Errorf("aborted after %v; with failureLimit 1 it must come at the second check (~%v)", took, 2*interval)
	}
	eventually(t, 10*time.Second, "an Aborted event naming query, value and threshold", func() (bool, string) {
		ev := events(t, ns, "gateway")
		return len(ev["Aborted"]) == 1 && strings.Contains(ev["Aborted"][0], "returned 0.82, threshold >= 0.99"), fmt.Sprint(ev)
	})
	// Aborted stays aborted: no traffic comes back by itself.
	for end := time.Now().Add(2 * interval); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, c := routeWeights(t, ns); c != 0 {
			t.Fatalf("an aborted release's canary got weight %d again", c)
		}
	}
	t.Logf("aborted after %v (2 failed checks, interval %v)", took.Round(time.Millisecond), interval)
}

func TestNotReadyCanaryGetsNoTraffic(t *testing.T) {
	ns := setup(t, false, 0.999)
	ctx := context.Background()
	must(t, k8s.Create(ctx, testenv.Release(ns, "gateway", []int32{10, 50, 100}, interval, 1)))

	eventually(t, 10*time.Second, "Waiting with CanaryReady=False", func() (bool, string) {
		cr := release(t, ns, "gateway")
		c := findCondition(cr, v1alpha1.ConditionCanaryReady)
		return cr.Status.Phase == v1alpha1.PhaseWaiting && c != nil && c.Status == "False", describe(cr)
	})
	// Three intervals later still no traffic: good metrics do not matter while the pods are not ready.
	for end := time.Now().Add(3 * interval); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if stable, canary := routeWeights(t, ns); canary != 0 || stable != 100 {
			t.Fatalf("a not-ready canary got traffic: stable=%d canary=%d", stable, canary)
		}
		if cr := release(t, ns, "gateway"); cr.Status.Phase != v1alpha1.PhaseWaiting {
			t.Fatalf("a not-ready canary left Waiting: %s", describe(cr))
		}
	}
	// Pods ready: the first step starts.
	d := &appsv1.Deployment{}
	must(t, k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: testenv.CanaryDeployment}, d))
	must(t, testenv.SetReady(ctx, k8s, d, true))
	eventually(t, 10*time.Second, "the first step once the pods are ready", func() (bool, string) {
		cr := release(t, ns, "gateway")
		_, c := routeWeights(t, ns)
		return cr.Status.Phase == v1alpha1.PhaseProgressing && c == 10, describe(cr)
	})
	// Pods unready mid-way: the weight drops to 0 at once.
	must(t, k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: testenv.CanaryDeployment}, d))
	must(t, testenv.SetReady(ctx, k8s, d, false))
	eventually(t, 5*time.Second, "weight 0 after the pods went unready", func() (bool, string) {
		cr := release(t, ns, "gateway")
		_, c := routeWeights(t, ns)
		return cr.Status.Phase == v1alpha1.PhaseWaiting && c == 0, describe(cr)
	})
}

func TestSpecEditRestartsTheAnalysis(t *testing.T) {
	ns := setup(t, true, 0.999)
	ctx := context.Background()
	must(t, k8s.Create(ctx, testenv.Release(ns, "gateway", []int32{10, 50, 100}, interval, 1)))
	eventually(t, 15*time.Second, "step 2 (50%)", func() (bool, string) {
		cr := release(t, ns, "gateway")
		return cr.Status.CurrentStep == 1, describe(cr)
	})
	cr := release(t, ns, "gateway")
	cr.Spec.Steps = []int32{20, 60, 100}
	cr.Spec.Interval.Duration = 30 * time.Second // long enough that the restarted step stays put while we look
	must(t, k8s.Update(ctx, cr))
	gen := cr.Generation

	eventually(t, 10*time.Second, "restarted at the first new step", func() (bool, string) {
		cr := release(t, ns, "gateway")
		_, c := routeWeights(t, ns)
		s := cr.Status
		return s.ObservedGeneration == gen && s.CurrentStep == 0 && s.Weight == 20 && s.FailedChecks == 0 &&
			s.Phase == v1alpha1.PhaseProgressing && c == 20, describe(cr) + fmt.Sprintf(" route canary=%d", c)
	})
	eventually(t, 10*time.Second, "a Restarted event", func() (bool, string) {
		ev := events(t, ns, "gateway")
		return len(ev["Restarted"]) == 1, fmt.Sprint(ev)
	})
}

func TestDeletingAReleaseRestoresAllStable(t *testing.T) {
	ns := setup(t, true, 0.999)
	ctx := context.Background()
	cr := testenv.Release(ns, "gateway", []int32{10, 50, 100}, interval, 1)
	must(t, k8s.Create(ctx, cr))
	eventually(t, 15*time.Second, "50% on the canary", func() (bool, string) {
		_, c := routeWeights(t, ns)
		return c == 50, fmt.Sprintf("canary weight %d", c)
	})
	start := time.Now()
	must(t, k8s.Delete(ctx, cr))
	eventually(t, 10*time.Second, "the release gone", func() (bool, string) {
		err := k8s.Get(ctx, client.ObjectKeyFromObject(cr), &v1alpha1.CanaryRelease{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})
	if stable, canary := routeWeights(t, ns); stable != 100 || canary != 0 {
		t.Errorf("after the delete the route has stable=%d canary=%d, want 100/0", stable, canary)
	}
	if _, ok := gauge("shop_canary_release_weight", map[string]string{"namespace": ns, "release": "gateway"}); ok {
		t.Errorf("shop_canary_release_weight of a deleted release is still exported")
	}
	t.Logf("all-stable %v after the delete", time.Since(start).Round(time.Millisecond))
}

func TestTheAPIServerRejectsInvalidReleases(t *testing.T) {
	ns := setup(t, true, 1)
	cases := []struct {
		name   string
		change func(*v1alpha1.CanaryRelease)
		want   string
	}{
		{"descending steps", func(c *v1alpha1.CanaryRelease) { c.Spec.Steps = []int32{50, 25, 100} }, "steps must be strictly ascending"},
		{"repeated steps", func(c *v1alpha1.CanaryRelease) { c.Spec.Steps = []int32{25, 25, 100} }, "steps must be strictly ascending"},
		{"a step over 100", func(c *v1alpha1.CanaryRelease) { c.Spec.Steps = []int32{50, 150} }, "spec.steps[1]"},
		{"a step of 0", func(c *v1alpha1.CanaryRelease) { c.Spec.Steps = []int32{0, 100} }, "spec.steps[0]"},
		{"no steps", func(c *v1alpha1.CanaryRelease) { c.Spec.Steps = nil }, "spec.steps"},
		{"an interval under 1s", func(c *v1alpha1.CanaryRelease) { c.Spec.Interval.Duration = 500 * time.Millisecond }, "interval must be at least 1s"},
		{"a threshold that is no number", func(c *v1alpha1.CanaryRelease) { c.Spec.Analysis.Queries[0].Threshold = "high" }, "spec.analysis.queries[0].threshold"},
		{"an unknown direction", func(c *v1alpha1.CanaryRelease) { c.Spec.Analysis.Queries[0].Direction = "Up" }, "spec.analysis.queries[0].direction"},
		{"the same Service as stable and canary", func(c *v1alpha1.CanaryRelease) { c.Spec.Canary.Name = c.Spec.Stable.Name }, "must name different Services"},
		{"a negative failure limit", func(c *v1alpha1.CanaryRelease) { c.Spec.Analysis.FailureLimit = -1 }, "spec.analysis.failureLimit"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cr := testenv.Release(ns, fmt.Sprintf("bad-%d", i), []int32{10, 50, 100}, interval, 1)
			tc.change(cr)
			err := k8s.Create(context.Background(), cr)
			if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("create = %v, want Invalid naming %q", err, tc.want)
			}
		})
	}
}

func findCondition(cr *v1alpha1.CanaryRelease, kind string) *struct{ Status string } {
	for _, c := range cr.Status.Conditions {
		if c.Type == kind {
			return &struct{ Status string }{string(c.Status)}
		}
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
