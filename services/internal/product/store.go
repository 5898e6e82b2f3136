package product

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"shop/internal/mysqldb"
	"shop/internal/stock"
)

// Product is a catalog entry.
type Product struct {
	ID          int64     `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	PriceCents  int64     `json:"price_cents"`
	Stock       int64     `json:"stock"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Page is one page of a product listing.
type Page struct {
	Items []Product `json:"items"`
	Page  int       `json:"page"`
	Size  int       `json:"size"`
	Total int64     `json:"total"`
}

// Errors the store returns for the handlers to map.
var (
	ErrNotFound          = errors.New("product not found")
	ErrAlreadyReleased   = errors.New("the order's reservation was already released")
	ErrReservationDiffer = errors.New("the order already reserved different items")
)

// InsufficientStockError names the product that has too little stock.
type InsufficientStockError struct {
	ProductID      int64
	Requested, Has int64
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("product %d has %d in stock, %d requested", e.ProductID, e.Has, e.Requested)
}

// UnknownProductError names a product id that does not exist.
type UnknownProductError struct{ ProductID int64 }

func (e *UnknownProductError) Error() string {
	return fmt.Sprintf("product %d does not exist", e.ProductID)
}

// Store keeps products and stock reservations in MySQL.
type Store struct{ DB *sql.DB }

const productColumns = "SELECT id, name, description, price_cents, stock, created_at, updated_at FROM products "

func scanProduct(sc interface{ Scan(...any) error }) (Product, error) {
	var p Product
	err := sc.Scan(&p.ID, &p.Name, &p.Description, &p.PriceCents, &p.Stock, &p.CreatedAt, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// Get returns one product.
func (s *Store) Get(ctx context.Context, id int64) (Product, error) {
	return scanProduct(s.DB.QueryRowContext(ctx, productColumns+"WHERE id = ?", id))
}

func likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(q) + "%"
}

// List returns a page of products whose name contains q, newest id last.
func (s *Store) List(ctx context.Context, lq ListQuery) (Page, error) {
	where, args := "", []any{}
	if lq.Q != "" {
		where, args = `WHERE name LIKE ? ESCAPE '\\' `, append(args, likePattern(lq.Q))
	}
	page := Page{Items: []Product{}, Page: lq.Page, Size: lq.Size}
	if err := s.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM products "+where, args...).Scan(&page.Total); err != nil {
		return page, err
	}
	rows, err := s.DB.QueryContext(ctx, productColumns+where+"ORDER BY id LIMIT ? OFFSET ?",
		append(args, lq.Size, (lq.Page-1)*lq.Size)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, p)
	}
	return page, rows.Err()
}

// Create inserts a product.
func (s *Store) Create(ctx context.Context, in ProductInput) (Product, error) {
	res, err := s.DB.ExecContext(ctx, "INSERT INTO products (name, description, price_cents, stock) VALUES (?, ?, ?, ?)",
		in.Name, in.Description, in.PriceCents, in.Stock)
	if err != nil {
		return Product{}, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return Product{}, err
	}
	return s.Get(ctx, id)
}

// Update replaces a product's fields.
func (s *Store) Update(ctx context.Context, id int64, in ProductInput) (Product, error) {
	res, err := s.DB.ExecContext(ctx, "UPDATE products SET name = ?, description = ?, price_cents = ?, stock = ? WHERE id = ?",
		in.Name, in.Description, in.PriceCents, in.Stock, id)
	if err != nil {
		return Product{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Zero rows also when nothing changed; tell the cases apart.
		if _, err := s.Get(ctx, id); err != nil {
			return Product{}, err
		}
	}
	return s.Get(ctx, id)
}

// Delete removes a product.
func (s *Store) Delete(ctx context.Context, id int64) error {
	res, err := s.DB.ExecContext(ctx, "DELETE FROM products WHERE id = ?", id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// withTx runs fn in a transaction, retrying deadlocks and lock-wait timeouts
// up to five times.
func (s *Store) withTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt*attempt) * 5 * time.Millisecond)
		}
		var tx *sql.Tx
		tx, err = s.DB.BeginTx(ctx, mysqldb.ReadCommitted)
		if err != nil {
			return err
		}
		if err = fn(tx); err == nil {
			if err = tx.Commit(); err == nil {
				return nil
			}
		} else {
			_ = tx.Rollback()
		}
		if !mysqldb.IsRetryable(err) {
			return err
		}
	}
	return err
}

// Reserve takes items (sorted by product id) out of stock for orderID in one
// transaction: all or nothing, never below zero. Reserving again for the same
// order with the same items returns the first reservation and changes nothing.
func (s *Store) Reserve(ctx context.Context, orderID string, items []stock.Item) ([]stock.ReservedItem, error) {
	var out []stock.ReservedItem
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		existing, state, err := reservationOf(ctx, tx, orderID)
		if err != nil {
			return err
		}
		if len(existing) > 0 {
			if state == "released" {
				return ErrAlreadyReleased
			}
			if !sameItems(existing, items) {
				return ErrReservationDiffer
			}
		} else {
			for _, it := range items {
				res, err := tx.ExecContext(ctx, "UPDATE products SET stock = stock - ? WHERE id = ? AND stock >= ?",
					it.Quantity, it.ProductID, it.Quantity)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err != nil {
					return err
				} else if n == 0 {
					var has int64
					err := tx.QueryRowContext(ctx, "SELECT stock FROM products WHERE id = ?", it.ProductID).Scan(&has)
					if errors.Is(err, sql.ErrNoRows) {
						return &UnknownProductError{ProductID: it.ProductID}
					} else if err != nil {
						return err
					}
					return &InsufficientStockError{ProductID: it.ProductID, Requested: it.Quantity, Has: has}
				}
				if _, err := tx.ExecContext(ctx, "INSERT INTO stock_reservations (order_id, product_id, quantity) VALUES (?, ?, ?)",
					orderID, it.ProductID, it.Quantity); err != nil {
					return err
				}
			}
		}
		for _, it := range items {
			ri := stock.ReservedItem{ProductID: it.ProductID, Quantity: it.Quantity}
			if err := tx.QueryRowContext(ctx, "SELECT name, price_cents FROM products WHERE id = ?", it.ProductID).
				Scan(&ri.Name, &ri.PriceCents); errors.Is(err, sql.ErrNoRows) {
				return &UnknownProductError{ProductID: it.ProductID}
			} else if err != nil {
				return err
			}
			out = append(out, ri)
		}
		return nil
	})
	return out, err
}

func reservationOf(ctx context.Context, tx *sql.Tx, orderID string) ([]stock.Item, string, error) {
	rows, err := tx.QueryContext(ctx,
		"SELECT product_id, quantity, state FROM stock_reservations WHERE order_id = ? ORDER BY product_id FOR UPDATE", orderID)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var items []stock.Item
	state := ""
	for rows.Next() {
		var it stock.Item
		if err := rows.Scan(&it.ProductID, &it.Quantity, &state); err != nil {
			return nil, "", err
		}
		items = append(items, it)
	}
	return items, state, rows.Err()
}

func sameItems(a, b []stock.Item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Release puts an order's reserved stock back, once. It returns the items
// whose stock changed (none when already released or never reserved).
func (s *Store) Release(ctx context.Context, orderID string) ([]stock.Item, error) {
	var changed []stock.Item
	err := s.withTx(ctx, func(tx *sql.Tx) error {
		changed = changed[:0]
		items, state, err := reservationOf(ctx, tx, orderID)
		if err != nil || state == "released" {
			return err
		}
		if len(items) == 0 {
			// Never reserved (or the reservation is still in flight): leave a
			// tombstone so a late reservation for this order is refused.
			_, err := tx.ExecContext(ctx, "INSERT IGNORE INTO stock_reservations (order_id, product_id, quantity, state) VALUES (?, 0, 0, 'released')", orderID)
			return err
		}
		for _, it := range items {
			// A deleted product has no stock to return to; the reservation still closes.
			if _, err := tx.ExecContext(ctx, "UPDATE products SET stock = stock + ? WHERE id = ?", it.Quantity, it.ProductID); err != nil {
				return err
			}
			changed = append(changed, it)
		}
		_, err = tx.ExecContext(ctx, "UPDATE stock_reservations SET state = 'released' WHERE order_id = ?", orderID)
		return err
	})
	return changed, err
}
