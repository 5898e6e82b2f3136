package order

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"shop/internal/httpx"
	"shop/internal/reqid"
	"shop/internal/stock"
)

// Stock is what the order service needs from the product service.
type Stock interface {
	Reserve(ctx context.Context, orderID string, items []stock.Item) ([]stock.ReservedItem, error)
	Release(ctx context.Context, orderID string) error
}

// RefusedError is the product service's definite "no" to a reservation
// (insufficient stock, unknown product): nothing was reserved.
type RefusedError struct {
	Status int
	Code   string
	Msg    string
}

func (e *RefusedError) Error() string { return e.Msg }

// ProductClient calls the product service's /internal/stock endpoints.
type ProductClient struct {
	BaseURL string
	Client  *http.Client
}

// NewProductClient returns a client with a keep-alive pool and timeout.
func NewProductClient(baseURL string, timeout time.Duration) *ProductClient {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
	}
	return &ProductClient{BaseURL: baseURL, Client: &http.Client{Transport: tr, Timeout: timeout}}
}

func (c *ProductClient) post(ctx context.Context, path string, in, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if id := reqid.From(ctx); id != "" {
		req.Header.Set(reqid.Header, id)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: product service: %v", httpx.ErrDependency, err)
	}
	defer resp.Body.Close()
	dec := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusOK:
		if err := dec.Decode(out); err != nil {
			return fmt.Errorf("%w: product service sent a bad body: %v", httpx.ErrDependency, err)
		}
		return nil
	case resp.StatusCode == http.StatusConflict || resp.StatusCode == http.StatusUnprocessableEntity:
		var e httpx.Error
		_ = dec.Decode(&e)
		return &RefusedError{Status: resp.StatusCode, Code: e.Code, Msg: e.Error}
	default:
		return fmt.Errorf("%w: product service answered %s", httpx.ErrDependency, resp.Status)
	}
}

// Reserve reserves items for orderID.
func (c *ProductClient) Reserve(ctx context.Context, orderID string, items []stock.Item) ([]stock.ReservedItem, error) {
	var out stock.ReserveResponse
	if err := c.post(ctx, "/internal/stock/reserve", stock.ReserveRequest{OrderID: orderID, Items: items}, &out); err != nil {
		return nil, err
	}
	if len(out.Items) != len(items) {
		return nil, fmt.Errorf("%w: product service reserved %d of %d items", httpx.ErrDependency, len(out.Items), len(items))
	}
	return out.Items, nil
}

// Release releases orderID's reservation (idempotent).
func (c *ProductClient) Release(ctx context.Context, orderID string) error {
	var out stock.ReleaseResponse
	return c.post(ctx, "/internal/stock/release", stock.ReleaseRequest{OrderID: orderID}, &out)
}
