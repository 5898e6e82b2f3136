package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"shop/internal/auth"
)

// BenchmarkProxyAuthenticated measures one authenticated, rate-limited
// request through the gateway handler to a keep-alive upstream (go test
// -bench Proxy -benchmem ./internal/gateway; add -cpuprofile to profile).
func BenchmarkProxyAuthenticated(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":1,"name":"Mug","price_cents":100,"stock":3}`)
	}))
	defer up.Close()
	u := []*url.URL{mustURL(up.URL)}
	h := newGateway(b, 1e9, 1e9, u, u, u, DefaultBreaker)
	tok, _, _ := auth.NewKeys(secret, time.Hour).Issue(1, "a@b.co")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest("GET", "http://gw/api/orders/1", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
	})
}
