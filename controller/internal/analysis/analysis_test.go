package analysis

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"shop/controller/internal/api/v1alpha1"
)

func release(queries ...v1alpha1.AnalysisQuery) *v1alpha1.CanaryRelease {
	return &v1alpha1.CanaryRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "gateway"},
		Spec: v1alpha1.CanaryReleaseSpec{
			Stable: v1alpha1.BackendRef{Name: "gateway", Port: 80}, Canary: v1alpha1.BackendRef{Name: "gateway-canary", Port: 80},
			CanaryDeployment: "gateway-canary", Interval: metav1.Duration{Duration: 30 * time.Second},
			Analysis: v1alpha1.Analysis{Queries: queries},
		},
	}
}

// promStub answers every query with the body registered for its exact text (after the template ran).
func promStub(t *testing.T, answers map[string]string) *Prometheus {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		body, ok := answers[r.FormValue("query")]
		if !ok {
			t.Errorf("unexpected query %q", r.FormValue("query"))
			w.WriteHeader(http.StatusBadRequest)
			body = `{"status":"error","errorType":"bad_data","error":"unknown"}`
		}
		if strings.Contains(body, `"status":"error"`) && !strings.Contains(body, "bad_data") {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	p, err := NewPrometheus(srv.URL, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func vector(v string) string {
	return `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"` + v + `"]}]}}`
}

func TestRun(t *testing.T) {
	rate := v1alpha1.AnalysisQuery{Name: "success-rate", Query: `rate{pod=~"{{.CanaryDeployment}}-.*",ns="{{.Namespace}}"}[{{.Interval}}]`, Threshold: "0.99", Direction: v1alpha1.DirectionMin}
	p99 := v1alpha1.AnalysisQuery{Name: "p99", Query: `p99{svc="{{.Canary}}"}`, Threshold: "0.25", Direction: v1alpha1.DirectionMax}
	rateQ, p99Q := `rate{pod=~"gateway-canary-.*",ns="shop"}[30s]`, `p99{svc="gateway-canary"}`

	cases := []struct {
		name    string
		answers map[string]string
		queries []v1alpha1.AnalysisQuery
		passed  bool
		failing string // verdict's query
		value   string
		errHas  string // a result's Error
		runErr  bool
	}{
		{name: "both on the right side pass", answers: map[string]string{rateQ: vector("0.995"), p99Q: vector("0.1")}, queries: []v1alpha1.AnalysisQuery{rate, p99}, passed: true},
		{name: "equal to the threshold passes", answers: map[string]string{rateQ: vector("0.99"), p99Q: vector("0.25")}, queries: []v1alpha1.AnalysisQuery{rate, p99}, passed: true},
		{name: "a low success rate fails with its value", answers: map[string]string{rateQ: vector("0.82"), p99Q: vector("0.1")}, queries: []v1alpha1.AnalysisQuery{rate, p99}, failing: "success-rate", value: "0.82"},
		{name: "a high latency fails", answers: map[string]string{rateQ: vector("1"), p99Q: vector("0.9")}, queries: []v1alpha1.AnalysisQuery{rate, p99}, failing: "p99", value: "0.9"},
		{name: "an empty vector fails as no data", answers: map[string]string{rateQ: `{"status":"success","data":{"resultType":"vector","result":[]}}`}, queries: []v1alpha1.AnalysisQuery{rate}, failing: "success-rate", errHas: "no data"},
		{name: "NaN fails as no data", answers: map[string]string{rateQ: vector("NaN")}, queries: []v1alpha1.AnalysisQuery{rate}, failing: "success-rate", errHas: "no data"},
		{name: "several series fail and ask for an aggregation", answers: map[string]string{rateQ: `{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"1"]}]}}`}, queries: []v1alpha1.AnalysisQuery{rate}, failing: "success-rate", errHas: "sum()"},
		{name: "a scalar is read", answers: map[string]string{rateQ: `{"status":"success","data":{"resultType":"scalar","result":[1,"0.999"]}}`}, queries: []v1alpha1.AnalysisQuery{rate}, passed: true},
		{name: "bad PromQL fails the check", answers: map[string]string{rateQ: `{"status":"error","errorType":"bad_data","error":"parse error"}`}, queries: []v1alpha1.AnalysisQuery{rate}, failing: "success-rate", errHas: "parse error"},
		{name: "an unavailable Prometheus is an error, not a verdict", answers: map[string]string{rateQ: `{"status":"error","errorType":"unavailable","error":"overloaded"}`}, queries: []v1alpha1.AnalysisQuery{rate}, runErr: true},
		{name: "a template with an unknown field fails without asking Prometheus", queries: []v1alpha1.AnalysisQuery{{Name: "bad", Query: "x{a=\"{{.Nope}}\"}", Threshold: "1", Direction: v1alpha1.DirectionMin}}, failing: "bad", errHas: "Nope"},
		{name: "no queries pass", passed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Run(context.Background(), promStub(t, tc.answers), release(tc.queries...), time.Now())
			if tc.runErr {
				if err == nil {
					t.Fatalf("want an error, got %+v", rep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict.Passed != tc.passed || rep.Verdict.Query != tc.failing || rep.Verdict.Value != tc.value {
				t.Errorf("verdict %+v, want passed=%v query=%q value=%q", rep.Verdict, tc.passed, tc.failing, tc.value)
			}
			if len(rep.Results) != len(tc.queries) {
				t.Errorf("%d results for %d queries", len(rep.Results), len(tc.queries))
			}
			if tc.errHas != "" && !strings.Contains(rep.Verdict.Reason, tc.errHas) {
				t.Errorf("reason %q does not contain %q", rep.Verdict.Reason, tc.errHas)
			}
		})
	}
}

func TestNewPrometheusRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "prometheus:9090", "ftp://x", "http://"} {
		if _, err := NewPrometheus(u, time.Second); err == nil || !strings.Contains(err.Error(), "http(s) URL") {
			t.Errorf("NewPrometheus(%q) = %v, want an error naming the expected form", u, err)
		}
	}
}
