// Package testenv starts a real kube-apiserver and etcd (controller-runtime's envtest) with the
// CanaryRelease and Gateway API CRDs installed, and a Prometheus stand-in, for the controller's
// tests and its benchmark.
package testenv

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Assets is the directory holding kube-apiserver and etcd: $KUBEBUILDER_ASSETS, else the project's
// toolchain cache (~/.cache/shop-platform/bin, filled by scripts/toolchain.sh etcd kube).
func Assets() (string, error) {
	dir := os.Getenv("KUBEBUILDER_ASSETS")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "shop-platform", "bin")
	}
	for _, b := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			return "", fmt.Errorf("no %s in %s: run scripts/toolchain.sh etcd kube, or set KUBEBUILDER_ASSETS", b, dir)
		}
	}
	return dir, nil
}

// ModuleDir is the controller module's root (where config/crd lives).
func ModuleDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// GatewayCRDs is config/crd/standard of the sigs.k8s.io/gateway-api module this module requires,
// in the Go module cache ($GATEWAY_API_CRDS overrides it).
func GatewayCRDs() (string, error) {
	if d := os.Getenv("GATEWAY_API_CRDS"); d != "" {
		return d, nil
	}
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api")
	cmd.Dir = ModuleDir()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("locating the gateway-api module (go list -m): %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")
	if _, err := os.Stat(filepath.Join(dir, "gateway.networking.k8s.io_httproutes.yaml")); err != nil {
		return "", fmt.Errorf("no HTTPRoute CRD under %s: %w", dir, err)
	}
	return dir, nil
}

// Start runs an API server with the CRDs installed. Stop it with env.Stop().
func Start() (*envtest.Environment, *rest.Config, error) {
	assets, err := Assets()
	if err != nil {
		return nil, nil, err
	}
	gw, err := GatewayCRDs()
	if err != nil {
		return nil, nil, err
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths: []string{
			filepath.Join(ModuleDir(), "config", "crd"),
			filepath.Join(gw, "gateway.networking.k8s.io_httproutes.yaml"),
			filepath.Join(gw, "gateway.networking.k8s.io_gateways.yaml"),
			filepath.Join(gw, "gateway.networking.k8s.io_gatewayclasses.yaml"),
		},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, fmt.Errorf("starting kube-apiserver and etcd from %s: %w", assets, err)
	}
	return env, cfg, nil
}

// FakeProm is a Prometheus stand-in: /api/v1/query answers every query whose text holds
// namespace="<ns>" with the value set for that namespace, as a one-series vector.
type FakeProm struct {
	*httptest.Server
	mu      sync.Mutex
	values  map[string]float64
	Queries atomic.Int64
}

var nsLabel = regexp.MustCompile(`namespace="([^"]+)"`)

// NewFakeProm starts the stand-in; Close it when done.
func NewFakeProm() *FakeProm {
	p := &FakeProm{values: map[string]float64{}}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	return p
}

// Set makes every query of namespace ns return v.
func (p *FakeProm) Set(ns string, v float64) {
	p.mu.Lock()
	p.values[ns] = v
	p.mu.Unlock()
}

func (p *FakeProm) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	p.Queries.Add(1)
	w.Header().Set("Content-Type", "application/json")
	m := nsLabel.FindStringSubmatch(r.FormValue("query"))
	p.mu.Lock()
	v, ok := 0.0, false
	if m != nil {
		v, ok = p.values[m[1]]
	}
	p.mu.Unlock()
	result := []any{}
	if ok {
		result = append(result, map[string]any{"metric": map[string]string{}, "value": []any{1, strconv.FormatFloat(v, 'g', -1, 64)}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "vector", "result": result}})
}
