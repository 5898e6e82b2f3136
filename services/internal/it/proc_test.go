package it

import (
	"shop/internal/ittest"

	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needIT skips unless the servers are up (scripts/test-services.sh fails on skips).
func needIT(t *testing.T) {
	t.Helper()
	if os.Getenv("SHOP_IT") != "1" {
		t.Skip("integration test: run scripts/test-services.sh (sets SHOP_IT=1 and starts the servers)")
	}
}

func env(name string) string { return os.Getenv("SHOP_IT_" + name) }

// JWTSecret is the key every test stack shares.
const JWTSecret = "integration-test-secret-0123456789abcdef"

// proc is one service process.
type proc struct {
	name string
	addr string
	cmd  *exec.Cmd
	out  *ittest.LockedBuffer
	done chan struct{}
	code int
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func mysqlEnv() map[string]string {
	return map[string]string{
		"MYSQL_HOST": env("MYSQL_HOST"), "MYSQL_PORT": env("MYSQL_PORT"), "MYSQL_USER": env("MYSQL_USER"),
		"MYSQL_PASSWORD": env("MYSQL_PASSWORD"), "MYSQL_DATABASE": env("MYSQL_DATABASE"),
	}
}

func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// startProc runs service name with vars (plus HTTP_ADDR on a free port) and
// waits until /healthz answers. It is stopped with SIGTERM at test end.
func startProc(t *testing.T, name string, vars map[string]string) *proc {
	t.Helper()
	p := &proc{name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), out: &ittest.LockedBuffer{}, done: make(chan struct{})}
	all := merge(map[string]string{"LOG_LEVEL": "info", "SHUTDOWN_DRAIN": "0s", "SHUTDOWN_TIMEOUT": "15s"}, vars,
		map[string]string{"HTTP_ADDR": p.addr, childEnv: name})
	p.cmd = exec.Command(os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, override := all[k]; !override {
			p.cmd.Env = append(p.cmd.Env, kv)
		}
	}
	for k, v := range all {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s log (last 4000 bytes):\n%s", name, tail(p.out.String(), 4000))
		}
	})
	eventually(t, 20*time.Second, name+" /healthz", func() bool { return p.get("/healthz") == 200 })
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func (p *proc) url() string { return "http://" + p.addr }

var probe = &http.Client{Timeout: 3 * time.Second}

func (p *proc) get(path string) int {
	resp, err := probe.Get(p.url() + path)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// readiness is /readyz's answer: "200 ok", "200 degraded", "503 unavailable", or "0" when
// nothing answered.
func (p *proc) readiness() string {
	resp, err := probe.Get(p.url() + "/readyz")
	if err != nil {
		return "0"
	}
	defer resp.Body.Close()
	var body struct {
		Status string `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body.Status)
}

func (p *proc) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) { _ = p.cmd.Process.Signal(sig) }

// wait returns the exit code, or -1 if the process is still running after d.
func (p *proc) wait(d time.Duration) int {
	select {
	case <-p.done:
		return p.code
	case <-time.After(d):
		return -1
	}
}

func (p *proc) stop() {
	if !p.running() {
		return
	}
	p.signal(syscall.SIGTERM)
	if p.wait(30*time.Second) == -1 {
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// eventually polls cond every 100ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s", what, d)
	return 0
}

// stores runs scripts/stores.sh stop-one|start-one for one server.
func stores(t *testing.T, action, server string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, env("STORES_SCRIPT"), action, env("STORES_DIR"), server).CombinedOutput()
	if err != nil {
		t.Fatalf("stores.sh %s %s: %v\n%s", action, server, err, out)
	}
}

// metricsOf returns the Prometheus text exposition of a service.
func metricsOf(t *testing.T, p *proc) string {
	t.Helper()
	resp, err := http.Get(p.url() + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", p.name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s /metrics: %v", p.name, err)
	}
	return string(b)
}
