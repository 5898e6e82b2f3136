package product

import (
	"net/url"
	"strings"
	"testing"

	"shop/internal/stock"
)

func TestParseListQuery(t *testing.T) {
	cases := []struct {
		query string
		want  ListQuery
		err   string
	}{
		{"", ListQuery{Page: 1, Size: 20}, ""},
		{"q=+mug+&page=3&size=100", ListQuery{Q: "mug", Page: 3, Size: 100}, ""},
		{"page=0", ListQuery{}, `"page" must be an integer from 1`},
		{"page=-1", ListQuery{}, "page"},
		{"page=1.5", ListQuery{}, "page"},
		{"size=101", ListQuery{}, `"size" must be an integer from 1 to 100`},
		{"size=abc", ListQuery{}, "size"},
		{"sort=price", ListQuery{}, `unknown query parameter "sort"`},
		{"q=" + strings.Repeat("x", 101), ListQuery{}, `"q" must be at most 100`},
	}
	for _, tc := range cases {
		v, _ := url.ParseQuery(tc.query)
		got, err := ParseListQuery(v)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.query, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q: %+v %v, want %+v", tc.query, got, err, tc.want)
		}
	}
}

func TestDecodeProductValidatesEveryField(t *testing.T) {
	cases := []struct{ body, err string }{
		{`{"name":"Mug","description":"d","price_cents":100,"stock":5}`, ""},
		{`{"name":"  Mug  ","price_cents":0,"stock":0}`, ""},
		{`{"name":"","price_cents":1,"stock":1}`, `"name"`},
		{`{"name":"` + strings.Repeat("n", 201) + `","price_cents":1,"stock":1}`, `"name"`},
		{`{"name":"x","price_cents":-1,"stock":1}`, `"price_cents"`},
		{`{"name":"x","price_cents":1,"stock":-1}`, `"stock"`},
		{`{"name":"x","price_cents":1,"stock":2000000000}`, `"stock"`},
		{`{"name":"x","price_cents":1,"stock":1.5}`, `"stock"`},
		{`{"name":"x","price_cents":"1","stock":1}`, `"price_cents"`},
		{`{"name":"x","id":3}`, `unknown field "id"`},
	}
	for _, tc := range cases {
		in, err := DecodeProduct("application/json", strings.NewReader(tc.body))
		if tc.err == "" {
			if err != nil || in.Name != strings.TrimSpace(in.Name) {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%.60s: error %v, want one naming %s", tc.body, err, tc.err)
		}
	}
}

func FuzzDecodeProduct(f *testing.F) {
	f.Add(`{"name":"Mug","description":"d","price_cents":100,"stock":5}`)
	f.Add(`{"name":"\u00e9","price_cents":1e2,"stock":-0}`)
	f.Fuzz(func(t *testing.T, body string) {
		in, err := DecodeProduct("application/json", strings.NewReader(body))
		if err == nil && (in.Name == "" || in.PriceCents < 0 || in.Stock < 0 || in.Stock > MaxStock) {
			t.Fatalf("accepted %+v", in)
		}
	})
}

func FuzzParseListQuery(f *testing.F) {
	f.Add("q=mug&page=2&size=10")
	f.Add("page=%00&size=-1")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lq, err := ParseListQuery(v)
		if err == nil && (lq.Page < 1 || lq.Page > MaxPage || lq.Size < 1 || lq.Size > MaxSize) {
			t.Fatalf("accepted %+v", lq)
		}
	})
}

func FuzzDecodeReserve(f *testing.F) {
	f.Add(`{"order_id":"abc","items":[{"product_id":1,"quantity":2}]}`)
	f.Add(`{"order_id":"../x","items":[]}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeReserve("application/json", strings.NewReader(body))
		if err != nil {
			return
		}
		if !stock.ValidOrderID(req.OrderID) || len(req.Items) == 0 {
			t.Fatalf("accepted %+v", req)
		}
		for i, it := range req.Items {
			if it.Quantity < 1 || it.ProductID < 1 || (i > 0 && req.Items[i-1].ProductID >= it.ProductID) {
				t.Fatalf("accepted %+v", req)
			}
		}
	})
}

func FuzzDecodeRelease(f *testing.F) {
	f.Add(`{"order_id":"abc"}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeRelease("application/json", strings.NewReader(body))
		if err == nil && !stock.ValidOrderID(req.OrderID) {
			t.Fatalf("accepted %+v", req)
		}
	})
}
