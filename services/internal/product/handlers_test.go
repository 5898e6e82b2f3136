package product

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/httpx"
	"shop/internal/stock"
)

type fakeCatalog struct {
	products map[int64]Product
	reserve  error
	down     bool
	gets     int
}

var errDown = fmt.Errorf("%w: mysql is gone", httpx.ErrDependency)

func (f *fakeCatalog) Get(_ context.Context, id int64) (Product, error) {
	f.gets++
	if f.down {
		return Product{}, errDown
	}
	p, ok := f.products[id]
	if !ok {
		return p, ErrNotFound
	}
	return p, nil
}
func (f *fakeCatalog) List(context.Context, ListQuery) (Page, error) { return Page{}, nil }
func (f *fakeCatalog) Create(_ context.Context, in ProductInput) (Product, error) {
	p := Product{ID: int64(len(f.products) + 1), Name: in.Name, Stock: in.Stock}
	f.products[p.ID] = p
	return p, nil
}
func (f *fakeCatalog) Update(_ context.Context, id int64, in ProductInput) (Product, error) {
	if _, ok := f.products[id]; !ok {
		return Product{}, ErrNotFound
	}
	f.products[id] = Product{ID: id, Name: in.Name, PriceCents: in.PriceCents, Stock: in.Stock}
	return f.products[id], nil
}
func (f *fakeCatalog) Delete(context.Context, int64) error { return nil }
func (f *fakeCatalog) Reserve(_ context.Context, _ string, items []stock.Item) ([]stock.ReservedItem, error) {
	if f.reserve != nil {
		return nil, f.reserve
	}
	out := make([]stock.ReservedItem, len(items))
	for i, it := range items {
		out[i] = stock.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity}
	}
	return out, nil
}
func (f *fakeCatalog) Release(context.Context, string) ([]stock.Item, error) { return nil, nil }

type fakeCache struct {
	m       map[int64]Product
	down    bool
	deleted []int64
}

func (c *fakeCache) Get(_ context.Context, id int64) (Product, bool, error) {
	if c.down {
		return Product{}, false, errors.New("redis: connection refused")
	}
	p, ok := c.m[id]
	return p, ok, nil
}
func (c *fakeCache) Set(_ context.Context, p Product) error {
	if c.down {
		return errors.New("redis: connection refused")
	}
	c.m[p.ID] = p
	return nil
}
func (c *fakeCache) Del(_ context.Context, ids ...int64) error {
	c.deleted = append(c.deleted, ids...)
	for _, id := range ids {
		delete(c.m, id)
	}
	return nil
}

func newHandlers() (*fakeCatalog, *fakeCache, http.Handler) {
	cat := &fakeCatalog{products: map[int64]Product{1: {ID: 1, Name: "Mug", Stock: 3}}}
	cache := &fakeCache{m: map[int64]Product{}}
	h := &Handlers{Store: cat, Cache: cache, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		CacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c"}, []string{"result"}),
		StockUnits:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "s"}, []string{"action"})}
	mux := http.NewServeMux()
	h.Routes(mux)
	return cat, cache, mux
}

func do(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestDetailsAreCacheAsideAndWritesInvalidate(t *testing.T) {
	cat, cache, h := newHandlers()
	if w := do(h, "GET", "/api/products/1", ""); w.Code != 200 || w.Header().Get("X-Cache") != "miss" {
		t.Fatalf("first read: %d %q", w.Code, w.Header().Get("X-Cache"))
	}
	if w := do(h, "GET", "/api/products/1", ""); w.Code != 200 || w.Header().Get("X-Cache") != "hit" || cat.gets != 1 {
		t.Fatalf("second read: %d %q, %d database reads", w.Code, w.Header().Get("X-Cache"), cat.gets)
	}
	if w := do(h, "PUT", "/api/products/1", `{"name":"Cup","price_cents":5,"stock":3}`); w.Code != 200 {
		t.Fatalf("update: %d", w.Code)
	}
	if len(cache.deleted) != 1 || cache.deleted[0] != 1 {
		t.Fatalf("update invalidated %v", cache.deleted)
	}
	if w := do(h, "GET", "/api/products/1", ""); !strings.Contains(w.Body.String(), "Cup") {
		t.Fatalf("read after update: %s", w.Body)
	}
	do(h, "POST", "/internal/stock/reserve", `{"order_id":"o1","items":[{"product_id":1,"quantity":1}]}`)
	if len(cache.deleted) != 2 {
		t.Fatalf("a reservation must invalidate the product's entry: %v", cache.deleted)
	}
}

func TestReadsFallBackToMySQLWhenRedisIsDown(t *testing.T) {
	_, cache, h := newHandlers()
	cache.down = true
	if w := do(h, "GET", "/api/products/1", ""); w.Code != 200 {
		t.Fatalf("read without Redis: %d", w.Code)
	}
}

func TestErrorsMapToStatuses(t *testing.T) {
	cases := []struct {
		name         string
		setup        func(*fakeCatalog)
		method, path string
		body         string
		status       int
	}{
		{"unknown product", nil, "GET", "/api/products/99", "", 404},
		{"bad id", nil, "GET", "/api/products/x", "", 400},
		{"database down", func(c *fakeCatalog) { c.down = true }, "GET", "/api/products/1", "", 503},
		{"insufficient stock", func(c *fakeCatalog) { c.reserve = &InsufficientStockError{ProductID: 1, Requested: 5, Has: 3} }, "POST", "/internal/stock/reserve", `{"order_id":"o","items":[{"product_id":1,"quantity":5}]}`, 409},
		{"unknown product in a reservation", func(c *fakeCatalog) { c.reserve = &UnknownProductError{ProductID: 7} }, "POST", "/internal/stock/reserve", `{"order_id":"o","items":[{"product_id":7,"quantity":1}]}`, 422},
		{"released order", func(c *fakeCatalog) { c.reserve = ErrAlreadyReleased }, "POST", "/internal/stock/reserve", `{"order_id":"o","items":[{"product_id":1,"quantity":1}]}`, 409},
		{"bad reservation", nil, "POST", "/internal/stock/reserve", `{"order_id":"o","items":[]}`, 400},
		{"bad order id", nil, "POST", "/internal/stock/release", `{"order_id":"a/b"}`, 400},
		{"update unknown", nil, "PUT", "/api/products/42", `{"name":"x","price_cents":1,"stock":1}`, 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cat, _, h := newHandlers()
			if tc.setup != nil {
				tc.setup(cat)
			}
			if w := do(h, tc.method, tc.path, tc.body); w.Code != tc.status {
				t.Fatalf("%d %s, want %d", w.Code, w.Body, tc.status)
			}
		})
	}
}
