package order

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"shop/internal/mysqldb"
	"shop/internal/stock"
)

// Order statuses.
const (
	StatusNew       = "new"
	StatusPending   = "pending"
	StatusPaid      = "paid"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired"
	StatusFailed    = "failed"
)

// Order is an order with its lines.
type Order struct {
	ID         string      `json:"id"`
	UserID     int64       `json:"user_id"`
	Status     string      `json:"status"`
	TotalCents int64       `json:"total_cents"`
	Items      []OrderItem `json:"items"`
	CreatedAt  time.Time   `json:"created_at"`
	ExpiresAt  *time.Time  `json:"expires_at,omitempty"`
}

// OrderItem is one line of an order.
type OrderItem struct {
	ProductID  int64  `json:"product_id"`
	Name       string `json:"name"`
	Quantity   int64  `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

// Event is the payload published to RabbitMQ for each order change.
type Event struct {
	Event      string      `json:"event"`
	OrderID    string      `json:"order_id"`
	UserID     int64       `json:"user_id"`
	Status     string      `json:"status"`
	TotalCents int64       `json:"total_cents"`
	Items      []OrderItem `json:"items,omitempty"`
	OccurredAt time.Time   `json:"occurred_at"`
}

// Errors the store returns for the handlers to map.
var (
	ErrNotFound   = errors.New("order not found")
	ErrWrongState = errors.New("order is not in a state that allows this")
)

// Store keeps orders and their outbox in MySQL.
type Store struct{ DB *sql.DB }

// Begin inserts the order in status "new" before any stock is reserved, so a
// reservation whose outcome is unknown can always be found and released.
//
// With an idempotency key it first looks for the user's order under that
// key: one created from the same body is returned as existing (nothing is
// inserted); a different body is ErrKeyReused; one still being placed is
// ErrInProgress; a failed one (its outcome was unknown, it is no order to
// the user) gives up the key to this attempt. The unique (user_id,
// idempotency_key) index keeps concurrent attempts to one order: the loser's
// insert fails as a duplicate and it looks again.
func (s *Store) Begin(ctx context.Context, id string, userID int64, items []stock.Item, idem Idempotency) (existing string, err error) {
	for attempt := 0; ; attempt++ {
		existing, err = s.begin(ctx, id, userID, items, idem)
		if !isDuplicate(err) || idem.Key == "" || attempt == 2 {
			return existing, err
		}
	}
}

func (s *Store) begin(ctx context.Context, id string, userID int64, items []stock.Item, idem Idempotency) (string, error) {
	tx, err := s.DB.BeginTx(ctx, mysqldb.ReadCommitted)
	if err != nil {
		return "", err
	}
	defer tx.Rollback() //nolint:errcheck
	if idem.Key != "" {
		var prior, status, hash string
		err := tx.QueryRowContext(ctx, "SELECT id, status, request_hash FROM orders WHERE user_id = ? AND idempotency_key = ? FOR UPDATE",
			userID, idem.Key).Scan(&prior, &status, &hash)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return "", err
		case hash != idem.BodyHash:
			return "", ErrKeyReused
		case status == StatusNew:
			return "", ErrInProgress
		case status == StatusFailed:
			if _, err := tx.ExecContext(ctx, "UPDATE orders SET idempotency_key = NULL WHERE id = ?", prior); err != nil {
				return "", err
			}
		default:
			return prior, nil
		}
	}
	var key, hash any
	if idem.Key != "" {
		key, hash = idem.Key, idem.BodyHash
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO orders (id, user_id, status, idempotency_key, request_hash) VALUES (?, ?, 'new', ?, ?)",
		id, userID, key, hash); err != nil {
		return "", err
	}
	if err := insertItems(ctx, tx, id, items); err != nil {
		return "", err
	}
	return "", tx.Commit()
}

// isDuplicate reports a unique-key violation (MySQL error 1062).
func isDuplicate(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1062
}

func insertItems(ctx context.Context, tx *sql.Tx, id string, items []stock.Item) error {
	q := strings.Builder{}
	q.WriteString("INSERT INTO order_items (order_id, product_id, quantity) VALUES ")
	args := make([]any, 0, 3*len(items))
	for i, it := range items {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, id, it.ProductID, it.Quantity)
	}
	_, err := tx.ExecContext(ctx, q.String(), args...)
	return err
}

// Discard deletes a "new" order whose reservation was refused (nothing was reserved).
func (s *Store) Discard(ctx context.Context, id string) error {
	tx, err := s.DB.BeginTx(ctx, mysqldb.ReadCommitted)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck
	res, err := tx.ExecContext(ctx, "DELETE FROM orders WHERE id = ? AND status = 'new'", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		if _, err := tx.ExecContext(ctx, "DELETE FROM order_items WHERE order_id = ?", id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// MarkFailed records that the reservation's outcome is unknown; the sweeper
// releases whatever was reserved.
func (s *Store) MarkFailed(ctx context.Context, id string) error {
	_, err := s.DB.ExecContext(ctx, "UPDATE orders SET status = 'failed' WHERE id = ? AND status = 'new'", id)
	return err
}

// Confirm moves a "new" order to "pending" with the reserved prices, an
// expiry paymentTimeout from now, and an order.created event in the outbox,
// all in one transaction.
func (s *Store) Confirm(ctx context.Context, id string, reserved []stock.ReservedItem, paymentTimeout time.Duration) (Order, error) {
	tx, err := s.DB.BeginTx(ctx, mysqldb.ReadCommitted)
	if err != nil {
		return Order{}, err
	}
	defer tx.Rollback() //nolint:errcheck
	var total int64
	for _, it := range reserved {
		total += it.PriceCents * it.Quantity
		if _, err := tx.ExecContext(ctx, "UPDATE order_items SET name = ?, price_cents = ? WHERE order_id = ? AND product_id = ?",
			it.Name, it.PriceCents, id, it.ProductID); err != nil {
			return Order{}, err
		}
	}
	res, err := tx.ExecContext(ctx, "UPDATE orders SET status = 'pending', total_cents = ?, "+
		"expires_at = NOW(6) + INTERVAL ? MICROSECOND WHERE id = ? AND status = 'new'", total, paymentTimeout.Microseconds(), id)
	if err != nil {
		return Order{}, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return Order{}, fmt.Errorf("order %s left status new before it was confirmed", id)
	}
	o, err := get(ctx, tx, id, true)
	if err != nil {
		return Order{}, err
	}
	if err := addEvent(ctx, tx, "order.created", o); err != nil {
		return Order{}, err
	}
	return o, tx.Commit()
}

func addEvent(ctx context.Context, tx *sql.Tx, name string, o Order) error {
	ev := Event{Event: name, OrderID: o.ID, UserID: o.UserID, Status: o.Status, TotalCents: o.TotalCents, Items: o.Items, OccurredAt: time.Now().UTC()}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO order_outbox (message_id, routing_key, payload) VALUES (?, ?, ?)",
		o.ID+"/"+name, name, b)
	return err
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const orderColumns = "SELECT id, user_id, status, total_cents, created_at, expires_at FROM orders "

func get(ctx context.Context, q queryer, id string, forUpdate bool) (Order, error) {
	query := orderColumns + "WHERE id = ?"
	if forUpdate {
		query += " FOR UPDATE"
	}
	var o Order
	var exp sql.NullTime
	err := q.QueryRowContext(ctx, query, id).Scan(&o.ID, &o.UserID, &o.Status, &o.TotalCents, &o.CreatedAt, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return o, ErrNotFound
	}
	if err != nil {
		return o, err
	}
	if exp.Valid {
		o.ExpiresAt = &exp.Time
	}
	o.Items, err = itemsOf(ctx, q, id)
	return o, err
}

func itemsOf(ctx context.Context, q queryer, id string) ([]OrderItem, error) {
	rows, err := q.QueryContext(ctx, "SELECT product_id, name, quantity, price_cents FROM order_items WHERE order_id = ? ORDER BY product_id", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []OrderItem{}
	for rows.Next() {
		var it OrderItem
		if err := rows.Scan(&it.ProductID, &it.Name, &it.Quantity, &it.PriceCents); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// Get returns the user's order (orders still being placed are not shown).
func (s *Store) Get(ctx context.Context, userID int64, id string) (Order, error) {
	o, err := get(ctx, s.DB, id, false)
	if err != nil {
		return o, err
	}
	if o.UserID != userID || o.Status == StatusNew || o.Status == StatusFailed {
		return Order{}, ErrNotFound
	}
	return o, nil
}

// List returns the user's orders, newest first, at most limit.
func (s *Store) List(ctx context.Context, userID int64, limit int) ([]Order, error) {
	rows, err := s.DB.QueryContext(ctx, orderColumns+
		"WHERE user_id = ? AND status NOT IN ('new','failed') ORDER BY created_at DESC, id LIMIT ?", userID, limit)
	if err != nil {
		return nil, err
	}
	var out []Order
	for rows.Next() {
		var o Order
		var exp sql.NullTime
		if err := rows.Scan(&o.ID, &o.UserID, &o.Status, &o.TotalCents, &o.CreatedAt, &exp); err != nil {
			rows.Close()
			return nil, err
		}
		if exp.Valid {
			o.ExpiresAt = &exp.Time
		}
		out = append(out, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].Items, err = itemsOf(ctx, s.DB, out[i].ID); err != nil {
			return nil, err
		}
	}
	if out == nil {
		out = []Order{}
	}
	return out, nil
}

// Transition moves the user's order (userID 0: any user's) from "pending" to
// to, with its event, if allowed. Moving to "paid" requires the order not to
// have expired; moving to "expired" requires that it has. Repeating a
// transition that already happened returns the order unchanged with changed=false.
func (s *Store) Transition(ctx context.Context, userID int64, id, to string) (o Order, changed bool, err error) {
	tx, err := s.DB.BeginTx(ctx, mysqldb.ReadCommitted)
	if err != nil {
		return o, false, err
	}
	defer tx.Rollback() //nolint:errcheck
	o, err = get(ctx, tx, id, true)
	if err != nil {
		return o, false, err
	}
	if (userID != 0 && o.UserID != userID) || o.Status == StatusNew || o.Status == StatusFailed {
		return Order{}, false, ErrNotFound
	}
	if o.Status == to {
		return o, false, nil
	}
	if o.Status != StatusPending {
		return o, false, ErrWrongState
	}
	cond := ""
	switch to {
	case StatusPaid:
		cond = " AND expires_at > NOW(6)"
	case StatusExpired:
		cond = " AND expires_at <= NOW(6)"
	}
	res, err := tx.ExecContext(ctx, "UPDATE orders SET status = ? WHERE id = ? AND status = 'pending'"+cond, to, id)
	if err != nil {
		return o, false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return o, false, ErrWrongState
	}
	o.Status = to
	if err := addEvent(ctx, tx, "order."+to, o); err != nil {
		return o, false, err
	}
	return o, true, tx.Commit()
}

// Due returns ids of pending orders past their expiry.
func (s *Store) Due(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, "SELECT id FROM orders WHERE status = 'pending' AND expires_at <= NOW(6) ORDER BY expires_at LIMIT ?", limit)
}

// Stale marks orders stuck in "new" for longer than age (their creator died
// or lost the database mid-way) as failed, so their stock gets released.
func (s *Store) Stale(ctx context.Context, age time.Duration) (int64, error) {
	res, err := s.DB.ExecContext(ctx, "UPDATE orders SET status = 'failed' WHERE status = 'new' AND created_at < NOW(6) - INTERVAL ? MICROSECOND", age.Microseconds())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Unreleased returns ids of cancelled, expired and failed orders whose stock
// has not been released yet.
func (s *Store) Unreleased(ctx context.Context, limit int) ([]string, error) {
	return s.ids(ctx, "SELECT id FROM orders WHERE stock_released = FALSE AND status IN ('cancelled','expired','failed') LIMIT ?", limit)
}

// MarkReleased records that an order's stock went back.
func (s *Store) MarkReleased(ctx context.Context, id string) error {
	_, err := s.DB.ExecContext(ctx, "UPDATE orders SET stock_released = TRUE WHERE id = ?", id)
	return err
}

func (s *Store) ids(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}
