package order

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"shop/internal/httpx"
	"shop/internal/stock"
)

// Orders is what the handlers need from storage.
type Orders interface {
	Begin(ctx context.Context, id string, userID int64, items []stock.Item, idem Idempotency) (existing string, err error)
	Discard(ctx context.Context, id string) error
	MarkFailed(ctx context.Context, id string) error
	Confirm(ctx context.Context, id string, reserved []stock.ReservedItem, paymentTimeout time.Duration) (Order, error)
	Get(ctx context.Context, userID int64, id string) (Order, error)
	List(ctx context.Context, userID int64, limit int) ([]Order, error)
	Transition(ctx context.Context, userID int64, id, to string) (Order, bool, error)
	MarkReleased(ctx context.Context, id string) error
}

// Handlers serve the order API.
type Handlers struct {
	Store          Orders
	Stock          Stock
	Log            *slog.Logger
	PaymentTimeout time.Duration
	// Notify wakes the outbox relay after an event was written.
	Notify func()
	// Created counts orders placed; Transitions counts pay/cancel by outcome.
	Created     prometheus.Counter
	Transitions *prometheus.CounterVec
}

// Routes registers the handlers.
func (h *Handlers) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/orders", h.create)
	mux.HandleFunc("GET /api/orders", h.list)
	mux.HandleFunc("GET /api/orders/{id}", h.get)
	mux.HandleFunc("POST /api/orders/{id}/cancel", h.cancel)
	mux.HandleFunc("POST /api/orders/{id}/pay", h.pay)
}

func (h *Handlers) user(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := ParseUserID(r.Header.Get(UserHeader))
	if !ok {
		httpx.WriteError(w, http.StatusUnauthorized, "unauthorized", "requests must come through the gateway with a valid token")
	}
	return id, ok
}

// create: record the order as "new", reserve its stock through the product
// service, then confirm it (status pending + order.created in the outbox) in
// one transaction. A refused reservation deletes the order; one whose outcome
// is unknown marks it failed so the sweeper returns any reserved stock.
//
// With an Idempotency-Key, a retry of a request that created an order gets
// that order (201, Idempotent-Replayed: true) instead of a second one; see
// Store.Begin for the other outcomes.
func (h *Handlers) create(w http.ResponseWriter, r *http.Request) {
	userID, ok := h.user(w, r)
	if !ok {
		return
	}
	key, err := ParseIdempotencyKey(r.Header)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	req, err := DecodeCreate(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	ctx := r.Context()
	id := newOrderID()
	var idem Idempotency
	if key != "" {
		idem = Idempotency{Key: key, BodyHash: BodyHash(req.Items)}
	}
	existing, err := h.Store.Begin(ctx, id, userID, req.Items, idem)
	switch {
	case errors.Is(err, ErrKeyReused):
		httpx.WriteError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was already used for an order with other items; use a new key for a new order")
		return
	case errors.Is(err, ErrInProgress):
		w.Header().Set("Retry-After", "1")
		httpx.WriteError(w, http.StatusConflict, "request_in_progress", "an order with this Idempotency-Key is still being placed; retry shortly with the same key")
		return
	case err != nil:
		httpx.WriteServerError(w, r, h.Log, err)
		return
	case existing != "":
		o, err := h.Store.Get(ctx, userID, existing)
		if err != nil {
			httpx.WriteServerError(w, r, h.Log, err)
			return
		}
		w.Header().Set(ReplayedHeader, "true")
		httpx.WriteJSON(w, http.StatusCreated, o)
		return
	}
	reserved, err := h.Stock.Reserve(ctx, id, req.Items)
	var refused *RefusedError
	if errors.As(err, &refused) {
		if derr := h.Store.Discard(context.WithoutCancel(ctx), id); derr != nil {
			h.Log.WarnContext(ctx, "could not discard refused order", "order_id", id, "err", derr)
		}
		httpx.WriteError(w, refused.Status, refused.Code, refused.Msg)
		return
	}
	if err != nil {
		h.fail(ctx, id)
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	// Stock is reserved: a client that hangs up now does not stop the order,
	// but the request's deadline (REQUEST_TIMEOUT) still bounds it.
	cctx, cancel := detached(ctx)
	defer cancel()
	o, err := h.Store.Confirm(cctx, id, reserved, h.PaymentTimeout)
	if err != nil {
		h.fail(ctx, id)
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	h.Created.Inc()
	h.Notify()
	h.Log.InfoContext(ctx, "order created", "order_id", id, "user_id", userID, "total_cents", o.TotalCents)
	httpx.WriteJSON(w, http.StatusCreated, o)
}

// detached is ctx without its cancellation but with its deadline.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, dl)
	}
	return d, func() {}
}

func (h *Handlers) fail(ctx context.Context, id string) {
	if err := h.Store.MarkFailed(context.WithoutCancel(ctx), id); err != nil {
		// Still "new": the sweeper marks it failed once it is stale.
		h.Log.WarnContext(ctx, "could not mark order failed", "order_id", id, "err", err)
	}
}

func (h *Handlers) list(w http.ResponseWriter, r *http.Request) {
	userID, ok := h.user(w, r)
	if !ok {
		return
	}
	if len(r.URL.Query()) > 0 {
		httpx.WriteError(w, http.StatusBadRequest, "bad_request", "GET /api/orders takes no query parameters")
		return
	}
	orders, err := h.Store.List(r.Context(), userID, 100)
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"items": orders})
}

func (h *Handlers) orderID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !ValidOrderID(id) {
		httpx.WriteError(w, http.StatusBadRequest, "bad_request", "order id must be 1 to 64 characters from [A-Za-z0-9_-]")
		return "", false
	}
	return id, true
}

func (h *Handlers) get(w http.ResponseWriter, r *http.Request) {
	userID, ok := h.user(w, r)
	if !ok {
		return
	}
	id, ok := h.orderID(w, r)
	if !ok {
		return
	}
	o, err := h.Store.Get(r.Context(), userID, id)
	if errors.Is(err, ErrNotFound) {
		httpx.WriteError(w, http.StatusNotFound, "not_found", "order not found")
		return
	}
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, o)
}

func (h *Handlers) cancel(w http.ResponseWriter, r *http.Request) {
	h.transition(w, r, StatusCancelled)
}
func (h *Handlers) pay(w http.ResponseWriter, r *http.Request) { h.transition(w, r, StatusPaid) }

func (h *Handlers) transition(w http.ResponseWriter, r *http.Request, to string) {
	userID, ok := h.user(w, r)
	if !ok {
		return
	}
	id, ok := h.orderID(w, r)
	if !ok {
		return
	}
	if r.ContentLength > 0 {
		httpx.WriteError(w, http.StatusBadRequest, "bad_request", "this endpoint takes no body")
		return
	}
	ctx := r.Context()
	o, changed, err := h.Store.Transition(ctx, userID, id, to)
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.WriteError(w, http.StatusNotFound, "not_found", "order not found")
		return
	case errors.Is(err, ErrWrongState):
		h.Transitions.WithLabelValues(to, "conflict").Inc()
		httpx.WriteError(w, http.StatusConflict, "wrong_state", "order is "+o.Status+"; only pending orders can be "+to)
		return
	case err != nil:
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	if changed {
		h.Transitions.WithLabelValues(to, "ok").Inc()
		h.Notify()
		if to == StatusCancelled {
			// Return the stock now; if the product service is down the sweeper retries.
			if err := h.Stock.Release(ctx, id); err != nil {
				h.Log.WarnContext(ctx, "stock release deferred to the sweeper", "order_id", id, "err", err)
			} else if err := h.Store.MarkReleased(context.WithoutCancel(ctx), id); err != nil {
				h.Log.WarnContext(ctx, "could not record the release", "order_id", id, "err", err)
			}
		}
	}
	httpx.WriteJSON(w, http.StatusOK, o)
}
