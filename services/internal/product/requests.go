package product

import (
	"io"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"shop/internal/httpx"
	"shop/internal/stock"
)

// ProductInput is the body of POST /api/products and PUT /api/products/{id}.
type ProductInput struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	PriceCents  int64  `json:"price_cents"`
	Stock       int64  `json:"stock"`
}

// Bounds of product fields.
const (
	MaxName        = 200
	MaxDescription = 10000
	MaxPriceCents  = 1_000_000_000_00
	MaxStock       = 1_000_000_000
	DefaultSize    = 20
	MaxSize        = 100
	MaxPage        = 100000
	MaxQuery       = 100
)

// DecodeProduct decodes and validates a product body.
func DecodeProduct(contentType string, body io.Reader) (ProductInput, error) {
	var in ProductInput
	if err := httpx.DecodeJSON(contentType, body, &in); err != nil {
		return in, err
	}
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "" || !utf8.ValidString(in.Name) || utf8.RuneCountInString(in.Name) > MaxName:
		return in, httpx.Invalid("field \"name\" must be 1 to %d characters of UTF-8", MaxName)
	case !utf8.ValidString(in.Description) || utf8.RuneCountInString(in.Description) > MaxDescription:
		return in, httpx.Invalid("field \"description\" must be at most %d characters of UTF-8", MaxDescription)
	case in.PriceCents < 0 || in.PriceCents > MaxPriceCents:
		return in, httpx.Invalid("field \"price_cents\" must be from 0 to %d", int64(MaxPriceCents))
	case in.Stock < 0 || in.Stock > MaxStock:
		return in, httpx.Invalid("field \"stock\" must be from 0 to %d", MaxStock)
	}
	return in, nil
}

// ListQuery is the parsed query of GET /api/products.
type ListQuery struct {
	Q          string
	Page, Size int
}

// ParseListQuery reads ?q=&page=&size= (page from 1, size 1..100, default 20).
func ParseListQuery(v url.Values) (ListQuery, error) {
	lq := ListQuery{Page: 1, Size: DefaultSize}
	for k := range v {
		if k != "q" && k != "page" && k != "size" {
			return lq, httpx.Invalid("unknown query parameter %q (use q, page, size)", k)
		}
	}
	lq.Q = strings.TrimSpace(v.Get("q"))
	if !utf8.ValidString(lq.Q) || utf8.RuneCountInString(lq.Q) > MaxQuery {
		return lq, httpx.Invalid("query parameter \"q\" must be at most %d characters of UTF-8", MaxQuery)
	}
	num := func(name string, def, lo, hi int) (int, error) {
		s := v.Get(name)
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			return def, httpx.Invalid("query parameter %q must be an integer from %d to %d", name, lo, hi)
		}
		return n, nil
	}
	var err error
	if lq.Page, err = num("page", 1, 1, MaxPage); err != nil {
		return lq, err
	}
	if lq.Size, err = num("size", DefaultSize, 1, MaxSize); err != nil {
		return lq, err
	}
	return lq, nil
}

// ParseID reads a product id path segment.
func ParseID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, httpx.Invalid("product id must be a positive integer, got %q", s)
	}
	return id, nil
}

// DecodeReserve decodes and validates a reservation body.
func DecodeReserve(contentType string, body io.Reader) (stock.ReserveRequest, error) {
	var req stock.ReserveRequest
	if err := httpx.DecodeJSON(contentType, body, &req); err != nil {
		return req, err
	}
	if !stock.ValidOrderID(req.OrderID) {
		return req, httpx.Invalid("field \"order_id\" must be 1 to 64 characters from [A-Za-z0-9_-]")
	}
	items, err := stock.ValidateItems(req.Items)
	if err != nil {
		return req, err
	}
	req.Items = items
	return req, nil
}

// DecodeRelease decodes and validates a release body.
func DecodeRelease(contentType string, body io.Reader) (stock.ReleaseRequest, error) {
	var req stock.ReleaseRequest
	if err := httpx.DecodeJSON(contentType, body, &req); err != nil {
		return req, err
	}
	if !stock.ValidOrderID(req.OrderID) {
		return req, httpx.Invalid("field \"order_id\" must be 1 to 64 characters from [A-Za-z0-9_-]")
	}
	return req, nil
}
