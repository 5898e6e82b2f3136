package it

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestSIGTERMLetsAnInFlightRequestFinish(t *testing.T) {
	needIT(t)
	u := startProc(t, "user", merge(mysqlEnv(), map[string]string{"JWT_SECRET": JWTSecret, "BCRYPT_COST": "4", "SHUTDOWN_DRAIN": "300ms"}))
	eventually(t, 30*time.Second, "user /readyz", func() bool { return u.get("/readyz") == 200 })

	body := fmt.Sprintf(`{"email":"sigterm-%d@example.com","password":"correct horse","name":"Slow"}`, time.Now().UnixNano())
	conn, err := net.Dial("tcp", u.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Send the headers and half the body: the handler is now reading it.
	fmt.Fprintf(conn, "POST /api/users/register HTTP/1.1\r\nHost: user\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	time.Sleep(300 * time.Millisecond)
	u.signal(syscall.SIGTERM)
	eventually(t, 5*time.Second, "/readyz turns 503 after SIGTERM", func() bool { return u.get("/readyz") == 503 })
	time.Sleep(700 * time.Millisecond)
	if !u.running() {
		t.Fatal("the service exited with a request in flight")
	}
	if _, err := conn.Write([]byte(body[len(body)/2:])); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("in-flight registration answered %d, want 201", resp.StatusCode)
	}
	if code := u.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code after SIGTERM: %d, want 0", code)
	}
}

func TestGracefulShutdownUnderLoadLosesNoRequest(t *testing.T) {
	needIT(t)
	pvars := merge(mysqlEnv(), map[string]string{"REDIS_ADDR": env("REDIS_ADDR"), "REDIS_PASSWORD": env("REDIS_PASSWORD"), "SHUTDOWN_DRAIN": "1s"})
	a := startProc(t, "product", pvars)
	b := startProc(t, "product", pvars)
	for _, p := range []*proc{a, b} {
		eventually(t, 30*time.Second, "product /readyz", func() bool { return p.get("/readyz") == 200 })
	}
	gw := startGateway(t, "http://127.0.0.1:1", a.url()+","+b.url(), "http://127.0.0.1:1", "3s")
	prod := newProduct(t, newClient(t, a.url()), "Steady", 100, 1)

	const workers, maxRequests, duration = 8, 6000, 4 * time.Second
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	c := newClient(t, gw.url())
	deadline := time.Now().Add(duration)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && sent.Add(1) <= maxRequests {
				path := fmt.Sprintf("/api/products/%d", prod.ID)
				if sent.Load()%2 == 0 {
					path = "/api/products?size=5"
				}
				st, _, _, err := c.try("GET", path, nil)
				if err != nil || st != 200 {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: status %d err %v", path, st, err))
				}
			}
		}()
	}
	time.Sleep(time.Second)
	a.signal(syscall.SIGTERM)
	wg.Wait()
	if code := a.wait(20 * time.Second); code != 0 {
		t.Fatalf("the stopped instance exited with %d, want 0", code)
	}
	total := min(sent.Load(), maxRequests)
	t.Logf("%d requests, %d failed, during a SIGTERM of one of two instances", total, failed.Load())
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed; first: %v", failed.Load(), total, firstErr.Load())
	}
	if total < 200 {
		t.Fatalf("only %d requests were sent; the load was too thin to show anything", total)
	}
	if !b.running() || b.get("/readyz") != 200 {
		t.Fatal("the remaining instance is not serving")
	}
}
