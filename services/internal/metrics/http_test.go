package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRequestsAreCountedByRoutePatternMethodAndCode(t *testing.T) {
	reg := NewRegistry()
	m := NewHTTP(reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "0" {
			w.WriteHeader(404)
		}
	})
	h := m.Middleware(mux)
	for _, p := range []string{"/items/1", "/items/2", "/items/0", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	want := `
# HELP http_requests_total HTTP requests served, by route pattern, method and status code.
# TYPE http_requests_total counter
http_requests_total{code="200",method="GET",route="GET /items/{id}"} 2
http_requests_total{code="404",method="GET",route="GET /items/{id}"} 1
http_requests_total{code="404",method="GET",route="unmatched"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.duration); n != 3 {
		t.Fatalf("%d latency series, want 3", n)
	}
}

// BenchmarkEnd: one request's count and latency (go test -bench End -benchmem ./internal/metrics).
func BenchmarkEnd(b *testing.B) {
	m := NewHTTP(NewRegistry())
	b.ReportAllocs()
	for b.Loop() {
		m.End(m.Begin(), "GET /api/products/{id}", "GET", 200)
	}
}
