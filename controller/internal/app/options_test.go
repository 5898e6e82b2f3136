package app

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want func(Options) bool
		err  string
	}{
		{name: "defaults with the URL from the environment", env: map[string]string{"PROMETHEUS_URL": "http://prom:9090", "POD_NAMESPACE": "shop-system"},
			want: func(o Options) bool {
				return o.PrometheusURL == "http://prom:9090" && o.LeaderElect && o.LeaderElectionNS == "shop-system" &&
					o.MaxConcurrent == 4 && o.AnalysisTimeout == 10*time.Second && o.MetricsAddr == ":8080" && o.ProbeAddr == ":8081"
			}},
		{name: "flags win over the environment", args: []string{"--prometheus-url=http://a:1", "--max-concurrent-reconciles=8", "--leader-elect=false", "--watch-namespaces=shop, observability"},
			env: map[string]string{"PROMETHEUS_URL": "http://b:2"},
			want: func(o Options) bool {
				return o.PrometheusURL == "http://a:1" && o.MaxConcurrent == 8 && !o.LeaderElect &&
					strings.Join(o.WatchNamespaces, ",") == "shop,observability"
			}},
		{name: "no Prometheus URL", err: "--prometheus-url (or PROMETHEUS_URL) is required"},
		{name: "zero workers", args: []string{"--prometheus-url=http://a:1", "--max-concurrent-reconciles=0"}, err: "--max-concurrent-reconciles"},
		{name: "a bad timeout", args: []string{"--prometheus-url=http://a:1", "--analysis-timeout=soon"}, err: "--analysis-timeout"},
		{name: "a bad boolean", env: map[string]string{"PROMETHEUS_URL": "http://a:1", "LEADER_ELECT": "maybe"}, err: "--leader-elect"},
		{name: "a bad log level", args: []string{"--prometheus-url=http://a:1", "--log-level=loud"}, err: "--log-level"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o, err := Parse(tc.args, env(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to name %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.want(o) {
				t.Errorf("options %+v", o)
			}
		})
	}
}
