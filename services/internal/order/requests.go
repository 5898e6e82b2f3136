package order

import (
	"io"
	"strconv"

	"shop/internal/httpx"
	"shop/internal/stock"
)

// CreateRequest is the body of POST /api/orders.
type CreateRequest struct {
	Items []stock.Item `json:"items"`
}

// DecodeCreate decodes and validates an order body; items come back sorted
// by product id.
func DecodeCreate(contentType string, body io.Reader) (CreateRequest, error) {
	var req CreateRequest
	if err := httpx.DecodeJSON(contentType, body, &req); err != nil {
		return req, err
	}
	items, err := stock.ValidateItems(req.Items)
	if err != nil {
		return req, err
	}
	req.Items = items
	return req, nil
}

// UserHeader carries the caller's user id from the gateway, which sets it
// from a verified JWT and strips it from client requests.
const UserHeader = "X-User-ID"

// ParseUserID reads the X-User-ID header value.
func ParseUserID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0 && strconv.FormatInt(id, 10) == s
}

// ValidOrderID reports whether s has the shape of an order id.
func ValidOrderID(s string) bool { return stock.ValidOrderID(s) }
