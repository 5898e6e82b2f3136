// Package app turns flags and environment into a running controller manager.
package app

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// Options configure the controller binary. Every flag has an environment variable fallback.
type Options struct {
	PrometheusURL    string        // --prometheus-url / PROMETHEUS_URL (required)
	AnalysisTimeout  time.Duration // --analysis-timeout / ANALYSIS_TIMEOUT
	MetricsAddr      string        // --metrics-bind-address / METRICS_BIND_ADDRESS
	ProbeAddr        string        // --health-probe-bind-address / HEALTH_PROBE_BIND_ADDRESS
	LeaderElect      bool          // --leader-elect / LEADER_ELECT
	LeaderElectionNS string        // --leader-election-namespace / POD_NAMESPACE
	LeaderElectionID string        // --leader-election-id
	MaxConcurrent    int           // --max-concurrent-reconciles / MAX_CONCURRENT_RECONCILES
	WatchNamespaces  []string      // --watch-namespaces / WATCH_NAMESPACES (comma separated; empty: all)
	LogLevel         string        // --log-level / LOG_LEVEL (debug, info, warn, error)
}

// Parse reads args (without the program name) with getenv for the fallbacks; errors name the flag.
func Parse(args []string, getenv func(string) string) (Options, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var o Options
	var watch string
	fs := flag.NewFlagSet("canary-controller", flag.ContinueOnError)
	fs.StringVar(&o.PrometheusURL, "prometheus-url", env("PROMETHEUS_URL", ""), "Prometheus base URL the analysis queries (env PROMETHEUS_URL), e.g. http://prometheus.observability:9090")
	timeout := fs.String("analysis-timeout", env("ANALYSIS_TIMEOUT", "10s"), "timeout of one Prometheus query (env ANALYSIS_TIMEOUT)")
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", env("METRICS_BIND_ADDRESS", ":8080"), "address of the /metrics endpoint; 0 turns it off (env METRICS_BIND_ADDRESS)")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", env("HEALTH_PROBE_BIND_ADDRESS", ":8081"), "address of /healthz and /readyz (env HEALTH_PROBE_BIND_ADDRESS)")
	leader := fs.String("leader-elect", env("LEADER_ELECT", "true"), "elect a leader through a Lease so only one replica reconciles (env LEADER_ELECT)")
	fs.StringVar(&o.LeaderElectionNS, "leader-election-namespace", env("POD_NAMESPACE", ""), "namespace of the leader Lease (env POD_NAMESPACE; required with --leader-elect outside a pod)")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", "canary-controller.delivery.shop.dev", "name of the leader Lease")
	maxc := fs.String("max-concurrent-reconciles", env("MAX_CONCURRENT_RECONCILES", "4"), "releases reconciled in parallel (env MAX_CONCURRENT_RECONCILES)")
	fs.StringVar(&watch, "watch-namespaces", env("WATCH_NAMESPACES", ""), "comma-separated namespaces to watch; empty watches all (env WATCH_NAMESPACES)")
	fs.StringVar(&o.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []error
	if o.PrometheusURL == "" {
		errs = append(errs, errors.New("--prometheus-url (or PROMETHEUS_URL) is required, e.g. http://prometheus.observability:9090"))
	}
	d, err := time.ParseDuration(*timeout)
	if err != nil || d <= 0 {
		errs = append(errs, fmt.Errorf("--analysis-timeout %q must be a positive duration such as 10s", *timeout))
	}
	o.AnalysisTimeout = d
	switch strings.ToLower(*leader) {
	case "true", "1", "yes":
		o.LeaderElect = true
	case "false", "0", "no":
	default:
		errs = append(errs, fmt.Errorf("--leader-elect %q must be true or false", *leader))
	}
	if _, err := fmt.Sscanf(*maxc, "%d", &o.MaxConcurrent); err != nil || o.MaxConcurrent < 1 || o.MaxConcurrent > 64 {
		errs = append(errs, fmt.Errorf("--max-concurrent-reconciles %q must be a whole number 1..64", *maxc))
	}
	for _, ns := range strings.Split(watch, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			o.WatchNamespaces = append(o.WatchNamespaces, ns)
		}
	}
	switch o.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q must be debug, info, warn or error", o.LogLevel))
	}
	return o, errors.Join(errs...)
}
