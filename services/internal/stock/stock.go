// Package stock is the contract of the product service's internal stock API
// (POST /internal/stock/reserve and /internal/stock/release): the bodies both
// sides exchange and the checks both apply. The order service imports this,
// not the product service, so it links no catalog, cache or Redis code.
package stock

import (
	"regexp"
	"sort"

	"shop/internal/httpx"
)

// Bounds of a reservation.
const (
	MaxQuantity = 10000
	MaxItems    = 50
)

// Item is one product and quantity of a reservation.
type Item struct {
	ProductID int64 `json:"product_id"`
	Quantity  int64 `json:"quantity"`
}

// ReservedItem is a reserved line with the product's current price.
type ReservedItem struct {
	ProductID  int64  `json:"product_id"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

// ReserveRequest is the body of POST /internal/stock/reserve.
type ReserveRequest struct {
	OrderID string `json:"order_id"`
	Items   []Item `json:"items"`
}

// ReserveResponse is the body of a successful reservation.
type ReserveResponse struct {
	OrderID string         `json:"order_id"`
	Items   []ReservedItem `json:"items"`
}

// ReleaseRequest is the body of POST /internal/stock/release.
type ReleaseRequest struct {
	OrderID string `json:"order_id"`
}

// ReleaseResponse is the body of a release.
type ReleaseResponse struct {
	OrderID  string `json:"order_id"`
	Released bool   `json:"released"`
}

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidOrderID reports whether s can key a reservation.
func ValidOrderID(s string) bool { return orderIDPattern.MatchString(s) }

// ValidateItems checks quantities and duplicates and returns the items
// sorted by product id (rows are locked in that order, so concurrent
// reservations cannot deadlock each other).
func ValidateItems(items []Item) ([]Item, error) {
	if len(items) == 0 || len(items) > MaxItems {
		return nil, httpx.Invalid("field \"items\" must hold 1 to %d items", MaxItems)
	}
	out := append([]Item(nil), items...)
	sort.Slice(out, func(i, j int) bool { return out[i].ProductID < out[j].ProductID })
	for i, it := range out {
		if it.ProductID <= 0 {
			return nil, httpx.Invalid("items: \"product_id\" must be a positive integer")
		}
		if it.Quantity < 1 || it.Quantity > MaxQuantity {
			return nil, httpx.Invalid("items: \"quantity\" of product %d must be from 1 to %d", it.ProductID, MaxQuantity)
		}
		if i > 0 && out[i-1].ProductID == it.ProductID {
			return nil, httpx.Invalid("items: product %d is listed twice", it.ProductID)
		}
	}
	return out, nil
}
