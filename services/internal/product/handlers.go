package product

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/httpx"
	"shop/internal/stock"
)

// Catalog is what the handlers need from storage.
type Catalog interface {
	Get(ctx context.Context, id int64) (Product, error)
	List(ctx context.Context, lq ListQuery) (Page, error)
	Create(ctx context.Context, in ProductInput) (Product, error)
	Update(ctx context.Context, id int64, in ProductInput) (Product, error)
	Delete(ctx context.Context, id int64) error
	Reserve(ctx context.Context, orderID string, items []stock.Item) ([]stock.ReservedItem, error)
	Release(ctx context.Context, orderID string) ([]stock.Item, error)
}

// Handlers serve the product API.
type Handlers struct {
	Store Catalog
	Cache Cache
	Log   *slog.Logger
	// CacheLookups counts detail reads by result: hit, miss or error.
	CacheLookups *prometheus.CounterVec
	// StockUnits counts units reserved and released.
	StockUnits *prometheus.CounterVec
}

// Routes registers the handlers. /internal/* is for the order service and is
// not routed by the gateway.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/products", h.list)
	mux.HandleFunc("POST /api/products", h.create)
	mux.HandleFunc("GET /api/products/{id}", h.get)
	mux.HandleFunc("PUT /api/products/{id}", h.update)
	mux.HandleFunc("DELETE /api/products/{id}", h.delete)
	mux.HandleFunc("POST /internal/stock/reserve", h.reserve)
	mux.HandleFunc("POST /internal/stock/release", h.release)
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	lq, err := ParseListQuery(r.URL.Query())
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	page, err := h.Store.List(r.Context(), lq)
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, page)
}

// get is cache-aside: Redis first, MySQL on a miss (and when Redis is down,
// so reads keep working without the cache).
func (h *Handlers) get(w http.ResponseWriter, r *http.Request) {
	id, err := ParseID(r.PathValue("id"))
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	p, found, err := h.Cache.Get(r.Context(), id)
	switch {
	case err != nil:
		h.CacheLookups.WithLabelValues("error").Inc()
		h.Log.DebugContext(r.Context(), "cache read failed", "err", err)
	case found:
		h.CacheLookups.WithLabelValues("hit").Inc()
		w.Header().Set("X-Cache", "hit")
		httpx.WriteJSON(w, http.StatusOK, p)
		return
	default:
		h.CacheLookups.WithLabelValues("miss").Inc()
	}
	p, err = h.Store.Get(r.Context(), id)
	if h.storeFailed(w, r, err) {
		return
	}
	if err := h.Cache.Set(r.Context(), p); err != nil {
		h.Log.DebugContext(r.Context(), "cache write failed", "err", err)
	}
	w.Header().Set("X-Cache", "miss")
	httpx.WriteJSON(w, http.StatusOK, p)
}

func (h *Handlers) create(w http.ResponseWriter, r *http.Request) {
	in, err := DecodeProduct(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	p, err := h.Store.Create(r.Context(), in)
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	h.Log.InfoContext(r.Context(), "product created", "product_id", p.ID)
	httpx.WriteJSON(w, http.StatusCreated, p)
}

// storeFailed answers a failed store call (404 for a missing product, 500 otherwise) and
// reports whether it did.
func (h *Handlers) storeFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrNotFound):
		httpx.WriteError(w, http.StatusNotFound, "not_found", "product not found")
	default:
		httpx.WriteServerError(w, r, h.Log, err)
	}
	return true
}

func (h *Handlers) invalidate(ctx context.Context, ids ...int64) {
	if err := h.Cache.Del(ctx, ids...); err != nil {
		h.Log.WarnContext(ctx, "cache invalidation failed; will retry", "products", ids, "err", err)
	}
}

func (h *Handlers) update(w http.ResponseWriter, r *http.Request) {
	id, err := ParseID(r.PathValue("id"))
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	in, err := DecodeProduct(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	p, err := h.Store.Update(r.Context(), id, in)
	if h.storeFailed(w, r, err) {
		return
	}
	h.invalidate(r.Context(), id)
	httpx.WriteJSON(w, http.StatusOK, p)
}

func (h *Handlers) delete(w http.ResponseWriter, r *http.Request) {
	id, err := ParseID(r.PathValue("id"))
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	err = h.Store.Delete(r.Context(), id)
	if h.storeFailed(w, r, err) {
		return
	}
	h.invalidate(r.Context(), id)
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handlers) reserve(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeReserve(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	items, err := h.Store.Reserve(r.Context(), req.OrderID, req.Items)
	var short *InsufficientStockError
	var unknown *UnknownProductError
	switch {
	case errors.As(err, &short):
		httpx.WriteError(w, http.StatusConflict, "insufficient_stock", short.Error())
		return
	case errors.As(err, &unknown):
		httpx.WriteError(w, http.StatusUnprocessableEntity, "unknown_product", unknown.Error())
		return
	case errors.Is(err, ErrAlreadyReleased), errors.Is(err, ErrReservationDiffer):
		httpx.WriteError(w, http.StatusConflict, "reservation_conflict", err.Error())
		return
	case err != nil:
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	ids := make([]int64, len(items))
	var units int64
	for i, it := range items {
		ids[i] = it.ProductID
		units += it.Quantity
	}
	h.StockUnits.WithLabelValues("reserved").Add(float64(units))
	h.invalidate(r.Context(), ids...)
	httpx.WriteJSON(w, http.StatusOK, stock.ReserveResponse{OrderID: req.OrderID, Items: items})
}

func (h *Handlers) release(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeRelease(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	items, err := h.Store.Release(r.Context(), req.OrderID)
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	if len(items) > 0 {
		ids := make([]int64, len(items))
		var units int64
		for i, it := range items {
			ids[i] = it.ProductID
			units += it.Quantity
		}
		h.StockUnits.WithLabelValues("released").Add(float64(units))
		h.invalidate(r.Context(), ids...)
	}
	httpx.WriteJSON(w, http.StatusOK, stock.ReleaseResponse{OrderID: req.OrderID, Released: len(items) > 0})
}
