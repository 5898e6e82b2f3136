package product

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"shop/internal/ittest"
	"shop/internal/migrate"
	"shop/internal/stock"
)

// itStore connects to the integration MySQL (SHOP_IT=1, from scripts/test-services.sh), migrated.
func itStore(t *testing.T) *Store {
	t.Helper()
	db := ittest.MySQL(t, "product", migrations, "migrations")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	applied, err := migrate.Run(ctx, db, "product", migrations, "migrations")
	if err != nil || len(applied) != 0 {
		t.Fatalf("a second migration run applied %v (%v); migrations must run once", applied, err)
	}
	return &Store{DB: db}
}

func TestReserveNeverGoesBelowZeroUnderConcurrency(t *testing.T) {
	s := itStore(t)
	ctx := context.Background()
	p, err := s.Create(ctx, ProductInput{Name: "race", PriceCents: 10, Stock: 10})
	if err != nil {
		t.Fatal(err)
	}
	run := fmt.Sprint(time.Now().UnixNano())
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, short := 0, 0
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Reserve(ctx, fmt.Sprintf("st-%s-%d", run, i), []stock.Item{{ProductID: p.ID, Quantity: 1}})
			var ise *InsufficientStockError
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.As(err, &ise):
				short++
			default:
				t.Errorf("reserve: %v", err)
			}
		}()
	}
	wg.Wait()
	got, _ := s.Get(ctx, p.ID)
	if ok != 10 || short != 30 || got.Stock != 0 {
		t.Fatalf("%d reserved, %d refused, stock %d; want 10, 30, 0", ok, short, got.Stock)
	}
}

func TestReservationsAreIdempotentAndReleaseOnce(t *testing.T) {
	s := itStore(t)
	ctx := context.Background()
	a, _ := s.Create(ctx, ProductInput{Name: "a", PriceCents: 100, Stock: 5})
	b, _ := s.Create(ctx, ProductInput{Name: "b", PriceCents: 250, Stock: 5})
	order := fmt.Sprintf("idem-%d", time.Now().UnixNano())
	items := []stock.Item{{ProductID: a.ID, Quantity: 2}, {ProductID: b.ID, Quantity: 1}}
	stockOf := func(id int64) int64 { p, _ := s.Get(ctx, id); return p.Stock }

	for i := 0; i < 2; i++ {
		got, err := s.Reserve(ctx, order, items)
		if err != nil || len(got) != 2 || got[1].PriceCents != 250 {
			t.Fatalf("reserve #%d: %+v %v", i+1, got, err)
		}
	}
	if stockOf(a.ID) != 3 || stockOf(b.ID) != 4 {
		t.Fatalf("a repeated reservation took stock twice: %d %d", stockOf(a.ID), stockOf(b.ID))
	}
	if _, err := s.Reserve(ctx, order, []stock.Item{{ProductID: a.ID, Quantity: 1}}); !errors.Is(err, ErrReservationDiffer) {
		t.Fatalf("reserving other items under the same order: %v", err)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Release(ctx, order); err != nil {
			t.Fatal(err)
		}
	}
	if stockOf(a.ID) != 5 || stockOf(b.ID) != 5 {
		t.Fatalf("after releasing twice: %d %d, want 5 5", stockOf(a.ID), stockOf(b.ID))
	}
	if _, err := s.Reserve(ctx, order, items); !errors.Is(err, ErrAlreadyReleased) {
		t.Fatalf("reserving a released order again: %v", err)
	}

	// A release that arrives before its reservation leaves a tombstone.
	late := order + "-late"
	if _, err := s.Release(ctx, late); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve(ctx, late, items); !errors.Is(err, ErrAlreadyReleased) {
		t.Fatalf("a reservation after its release: %v", err)
	}
	if stockOf(a.ID) != 5 {
		t.Fatalf("the late reservation took stock: %d", stockOf(a.ID))
	}

	// All or nothing: one short line reserves nothing.
	if _, err := s.Reserve(ctx, order+"-big", []stock.Item{{ProductID: a.ID, Quantity: 1}, {ProductID: b.ID, Quantity: 6}}); err == nil {
		t.Fatal("reserved more than the stock")
	}
	if stockOf(a.ID) != 5 {
		t.Fatalf("a refused reservation kept part of its stock: %d", stockOf(a.ID))
	}
	var unknown *UnknownProductError
	if _, err := s.Reserve(ctx, order+"-ghost", []stock.Item{{ProductID: 1 << 40, Quantity: 1}}); !errors.As(err, &unknown) {
		t.Fatalf("unknown product: %v", err)
	}
}
