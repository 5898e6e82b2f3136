// Command canary-controller runs the CanaryRelease controller: it shifts an HTTPRoute's traffic to a
// canary step by step while Prometheus checks pass, and back to stable when they fail.
// Flags and environment: see internal/app/options.go and docs/canary.md.
package main

import (
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"

	"shop/controller/internal/app"
)

func main() {
	opts, err := app.Parse(os.Args[1:], os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "canary-controller:", err)
		os.Exit(2)
	}
	logger := app.Logger(opts.LogLevel)
	cfg, err := ctrl.GetConfig()
	if err != nil {
		logger.Error("no Kubernetes client config (in-cluster or KUBECONFIG)", "err", err)
		os.Exit(1)
	}
	mgr, _, err := app.NewManager(cfg, opts, logger)
	if err != nil {
		logger.Error("startup failed", "err", err)
		os.Exit(1)
	}
	logger.Info("starting", "prometheus", opts.PrometheusURL, "leaderElect", opts.LeaderElect, "maxConcurrentReconciles", opts.MaxConcurrent)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		logger.Error("manager stopped", "err", err)
		os.Exit(1)
	}
}
