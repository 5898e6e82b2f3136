package user

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"shop/internal/auth"
	"shop/internal/httpx"
)

// memStore is an in-memory Accounts; down makes every call fail like a lost database.
type memStore struct {
	mu    sync.Mutex
	users []User
	down  bool
}

var errDown = fmt.Errorf("%w: mysql is gone", httpx.ErrDependency)

func (m *memStore) Create(_ context.Context, email, name string, hash []byte) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return User{}, errDown
	}
	for _, u := range m.users {
		if u.Email == email {
			return User{}, ErrEmailTaken
		}
	}
	u := User{ID: int64(len(m.users) + 1), Email: email, Name: name, CreatedAt: time.Now(), passwordHash: hash}
	m.users = append(m.users, u)
	return u, nil
}

func (m *memStore) find(f func(User) bool) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return User{}, errDown
	}
	for _, u := range m.users {
		if f(u) {
			return u, nil
		}
	}
	return User{}, ErrNotFound
}

func (m *memStore) ByEmail(_ context.Context, email string) (User, error) {
	return m.find(func(u User) bool { return u.Email == email })
}

func (m *memStore) ByID(_ context.Context, id int64) (User, error) {
	return m.find(func(u User) bool { return u.ID == id })
}

func newHandlers(store *memStore) (http.Handler, *auth.Keys) {
	keys := auth.NewKeys("user-test-secret-0123456789abcdef!", time.Hour)
	h := &Handlers{Store: store, Keys: keys, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BcryptCost: bcrypt.MinCost,
		Registrations: prometheus.NewCounter(prometheus.CounterOpts{Name: "r"}),
		Logins:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "l"}, []string{"result"})}
	mux := http.NewServeMux()
	h.Routes(mux)
	return mux, keys
}

func call(h http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestRegisterLoginAndMe(t *testing.T) {
	store := &memStore{}
	h, keys := newHandlers(store)
	reg := `{"email":"Ann@Example.com","password":"correct horse","name":"Ann"}`
	steps := []struct {
		name, method, path, body string
		hdr                      []string
		status                   int
		contains                 string
	}{
		{"register", "POST", "/api/users/register", reg, nil, 201, `"email":"ann@example.com"`},
		{"register twice", "POST", "/api/users/register", reg, nil, 409, "email_taken"},
		{"register with a bad email", "POST", "/api/users/register", `{"email":"nope","password":"correct horse","name":"A"}`, nil, 400, "email"},
		{"register with a short password", "POST", "/api/users/register", `{"email":"b@example.com","password":"short","name":"B"}`, nil, 400, "password"},
		{"register without a name", "POST", "/api/users/register", `{"email":"b@example.com","password":"correct horse"}`, nil, 400, "name"},
		{"login with the wrong password", "POST", "/api/users/login", `{"email":"ann@example.com","password":"wrong horse"}`, nil, 401, "bad_credentials"},
		{"login with an unknown email", "POST", "/api/users/login", `{"email":"who@example.com","password":"correct horse"}`, nil, 401, "bad_credentials"},
		{"login", "POST", "/api/users/login", `{"email":"ANN@example.com","password":"correct horse"}`, nil, 200, `"token_type":"Bearer"`},
		{"me without a token", "GET", "/api/users/me", "", nil, 401, "unauthorized"},
		{"me with a bad token", "GET", "/api/users/me", "", []string{"Authorization", "Bearer x.y.z"}, 401, "invalid"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			w := call(h, st.method, st.path, st.body, st.hdr...)
			if w.Code != st.status || !strings.Contains(w.Body.String(), st.contains) {
				t.Fatalf("%d %s, want %d containing %q", w.Code, w.Body, st.status, st.contains)
			}
		})
	}
	w := call(h, "POST", "/api/users/login", `{"email":"ann@example.com","password":"correct horse"}`)
	var tok TokenResponse
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil {
		t.Fatal(err)
	}
	if c, err := keys.Parse(tok.Token); err != nil || c.UserID() != 1 {
		t.Fatalf("issued token: %v %v", c, err)
	}
	w = call(h, "GET", "/api/users/me", "", "Authorization", "Bearer "+tok.Token)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"id":1`) || strings.Contains(w.Body.String(), "hash") {
		t.Fatalf("me: %d %s", w.Code, w.Body)
	}
}

func TestStoreOutageIs503NotA500(t *testing.T) {
	store := &memStore{}
	h, _ := newHandlers(store)
	store.down = true
	for _, path := range []string{"/api/users/register", "/api/users/login"} {
		w := call(h, "POST", path, `{"email":"a@example.com","password":"correct horse","name":"A"}`)
		if path == "/api/users/login" {
			w = call(h, "POST", path, `{"email":"a@example.com","password":"correct horse"}`)
		}
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s with the database down: %d, want 503 with Retry-After", path, w.Code)
		}
	}
	if !errors.Is(errDown, httpx.ErrDependency) {
		t.Fatal("test setup")
	}
}

func FuzzDecodeRegister(f *testing.F) {
	f.Add(`{"email":"a@b.co","password":"12345678","name":"A"}`)
	f.Add(`{"email":"\u0000@b.co","password":"","name":""}`)
	f.Add(`{"email":"a@b.co","password":"12345678","name":"A","x":1}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeRegister("application/json", strings.NewReader(body))
		if err != nil {
			return
		}
		if _, e := NormalizeEmail(req.Email); e != nil || len(req.Password) < MinPassword || len(req.Password) > MaxPassword || req.Name == "" {
			t.Fatalf("accepted an invalid registration: %+v", req)
		}
	})
}

func FuzzDecodeLogin(f *testing.F) {
	f.Add(`{"email":"a@b.co","password":"12345678"}`)
	f.Add(`{"email":"","password":null}`)
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeLogin("application/json", strings.NewReader(body))
		if err != nil {
			return
		}
		if req.Email == "" || req.Password == "" || len(req.Password) > MaxPassword {
			t.Fatalf("accepted an invalid login: %+v", req)
		}
	})
}
