package app

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"shop/internal/config"
)

func TestFaultsAnswer500ToTheirShareButNeverToProbesOrScrapes(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	cases := []struct {
		name       string
		ratio      float64
		path       string
		draws      []float64 // what the random source returns, one per request
		wantFailed int
	}{
		{"off: nothing fails", 0, "/api/products", []float64{0, 0.1, 0.5}, 0},
		{"30%: draws below the ratio fail", 0.3, "/api/products", []float64{0.05, 0.29, 0.3, 0.7, 0.99}, 2},
		{"all: every request fails", 1, "/api/orders", []float64{0, 0.5, 0.999}, 3},
		{"probes are never failed", 1, "/healthz", []float64{0, 0}, 0},
		{"readiness is never failed", 1, "/readyz", []float64{0}, 0},
		{"scrapes are never failed", 1, "/metrics", []float64{0}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			h := Faults(tc.ratio, func() float64 { d := tc.draws[i%len(tc.draws)]; return d }, ok)
			failed := 0
			for i = 0; i < len(tc.draws); i++ {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
				switch rec.Code {
				case http.StatusInternalServerError:
					failed++
					if rec.Header().Get(FaultHeader) != "true" || !strings.Contains(rec.Body.String(), `"code":"injected_fault"`) {
						t.Fatalf("injected answer without its marks: header %q body %s", rec.Header().Get(FaultHeader), rec.Body)
					}
				case http.StatusOK:
					if rec.Header().Get(FaultHeader) != "" {
						t.Fatalf("a passed-through answer carries %s", FaultHeader)
					}
				default:
					t.Fatalf("status %d", rec.Code)
				}
			}
			if failed != tc.wantFailed {
				t.Fatalf("%d of %d requests failed, want %d", failed, len(tc.draws), tc.wantFailed)
			}
		})
	}
}

func TestABadFaultErrorRatioExits1NamingIt(t *testing.T) {
	for _, v := range []string{"-0.1", "1.5", "NaN", "half"} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), "test", func(k string) string {
			if k == "FAULT_ERROR_RATIO" {
				return v
			}
			return ""
		}, &out, &errOut, func(*config.Loader) func(context.Context, *Env) (Service, error) {
			return func(context.Context, *Env) (Service, error) {
				t.Fatal("started despite a bad FAULT_ERROR_RATIO")
				return nil, nil
			}
		}, Options{})
		if code != 1 || !strings.Contains(errOut.String(), "FAULT_ERROR_RATIO") {
			t.Fatalf("FAULT_ERROR_RATIO=%s: exit %d, stderr %q; want 1 naming the variable", v, code, errOut.String())
		}
	}
}

func TestRunInjectsFaultsInsideTheMetrics(t *testing.T) {
	app := startApp(t, "test", map[string]string{"FAULT_ERROR_RATIO": "1"}, deadlineService{}, Options{})
	get := app.get
	if resp, body := get("/left"); resp.StatusCode != http.StatusInternalServerError || resp.Header.Get(FaultHeader) != "true" {
		t.Fatalf("GET /left with FAULT_ERROR_RATIO=1: %d %q %s", resp.StatusCode, resp.Header.Get(FaultHeader), body)
	}
	if resp, _ := get("/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d, want 200 (probes are never failed)", resp.StatusCode)
	}
	_, metrics := get("/metrics")
	counted := false
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "http_requests_total{") && strings.Contains(line, `code="500"`) {
			counted = true
		}
	}
	if !counted {
		t.Fatalf("the injected 500 is not in http_requests_total:\n%s", metrics)
	}
	if !strings.Contains(app.out.String(), "fault injection is on") {
		t.Errorf("no warning that fault injection is on: %s", app.out.String())
	}
}
