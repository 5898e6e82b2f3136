package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/analysis"
	"shop/controller/internal/api/v1alpha1"
	"shop/controller/internal/controller"
)

// Scheme holds the types the controller reads and writes.
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, gatewayv1.Install, v1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // only a programming error (a type registered twice) gets here
		}
	}
	return s
}

// Logger is the slog JSON logger, also handed to controller-runtime through logr.
func Logger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}

// NewManager builds the manager with the CanaryRelease controller, the probes and the metrics.
func NewManager(cfg *rest.Config, o Options, logger *slog.Logger) (ctrl.Manager, *controller.Reconciler, error) {
	ctrl.SetLogger(logr.FromSlogHandler(logger.Handler()))
	// As ctrl.GetConfig does: no client-side rate limit (client-go's default is 5 requests/s), the API
	// server's priority and fairness limits the controller instead. Tests and the benchmark get the same.
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		cfg.QPS = -1
	}
	prom, err := analysis.NewPrometheus(o.PrometheusURL, o.AnalysisTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("--prometheus-url: %w", err)
	}
	// managedFields are never read: keep them out of the cache's memory.
	cacheOpts := cache.Options{DefaultTransform: cache.TransformStripManagedFields()}
	if len(o.WatchNamespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range o.WatchNamespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                        Scheme(),
		Cache:                         cacheOpts,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsAddr},
		HealthProbeBindAddress:        o.ProbeAddr,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNS,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating the manager: %w", err)
	}
	r := &controller.Reconciler{
		Client:   mgr.GetClient(),
		Recorder: mgr.GetEventRecorder("canary-controller"),
		Querier:  prom,
		Metrics:  controller.NewMetrics(metrics.Registry),
	}
	if err := r.Setup(context.Background(), mgr, o.MaxConcurrent); err != nil {
		return nil, nil, fmt.Errorf("setting up the controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, nil, err
	}
	// Ready once the informers have synced: before that, reads would miss objects.
	if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("informer caches not synced")
		}
		return nil
	}); err != nil {
		return nil, nil, err
	}
	return mgr, r, nil
}
