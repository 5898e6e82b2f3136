package mysqldb

import (
	"context"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"shop/internal/config"
)

// silencer forwards TCP connections to a server; after silence() the connections open at that
// moment swallow everything sent on them and answer nothing, without closing: what a client sees
// when the server's pod (and its address) disappears. Connections opened later forward again.
type silencer struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	current []*atomic.Bool
}

func newSilencer(t *testing.T, target string) *silencer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silencer{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			t.Cleanup(func() { c.Close(); up.Close() })
			silent := &atomic.Bool{}
			s.mu.Lock()
			s.current = append(s.current, silent)
			s.mu.Unlock()
			go pipe(c, up, silent)
			go pipe(up, c, silent)
		}
	}()
	return s
}

// pipe copies src to dst until either fails, dropping what it reads once silent.
func pipe(src, dst net.Conn, silent *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (s *silencer) silence() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.current {
		c.Store(true)
	}
	s.current = nil
}

func TestAFailedPingDropsTheDeadIdleConnections(t *testing.T) {
	if os.Getenv("SHOP_IT") != "1" {
		t.Skip("integration test: run scripts/test-services.sh (sets SHOP_IT=1 and starts the servers)")
	}
	target := net.JoinHostPort(os.Getenv("SHOP_IT_MYSQL_HOST"), os.Getenv("SHOP_IT_MYSQL_PORT"))
	proxy := newSilencer(t, target)
	host, port, _ := net.SplitHostPort(proxy.ln.Addr().String())
	p, _ := strconv.Atoi(port)
	db, err := Open(config.MySQL{Host: host, Port: p, User: os.Getenv("SHOP_IT_MYSQL_USER"),
		Password: os.Getenv("SHOP_IT_MYSQL_PASSWORD"), Database: os.Getenv("SHOP_IT_MYSQL_DATABASE")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	// Several connections in the pool, then idle.
	const conns = 5
	var wg sync.WaitGroup
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := db.Exec("SELECT SLEEP(0.2)"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if idle := db.Stats().Idle; idle < 2 {
		t.Fatalf("%d idle connections, want several", idle)
	}

	proxy.silence() // the server "moved": every idle connection is dead, new ones work
	ping := Ping(db)
	check := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return ping(ctx)
	}
	if err := check(); err == nil {
		t.Fatal("a ping over a dead connection succeeded")
	}
	start := time.Now()
	if err := check(); err != nil {
		t.Fatalf("the ping after a failed one went to another dead connection (%v): the idle ones were not dropped", err)
	}
	t.Logf("ready again %s after the failed ping", time.Since(start).Round(time.Millisecond))
}
