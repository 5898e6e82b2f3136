package user

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"shop/internal/auth"
	"shop/internal/httpx"
)

// Accounts is what the handlers need from storage.
type Accounts interface {
	Create(ctx context.Context, email, name string, hash []byte) (User, error)
	ByEmail(ctx context.Context, email string) (User, error)
	ByID(ctx context.Context, id int64) (User, error)
}

// Handlers serve the user API.
type Handlers struct {
	Store      Accounts
	Keys       *auth.Keys
	Log        *slog.Logger
	BcryptCost int
	// Registrations counts accounts created; Logins counts logins by result.
	Registrations prometheus.Counter
	Logins        *prometheus.CounterVec
	dummyHash     []byte
}

// TokenResponse is the body of a successful login.
type TokenResponse struct {
	Token     string    `json:"token"`
	TokenType string    `json:"token_type"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// Routes registers the handlers.
func (h *Handlers) Routes(mux *http.ServeMux) {
	if h.BcryptCost == 0 {
		h.BcryptCost = bcrypt.DefaultCost
	}
	// Logins for unknown addresses still pay for one bcrypt comparison, so
	// response times do not reveal which addresses are registered.
	h.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-real-password"), h.BcryptCost)
	mux.HandleFunc("POST /api/users/register", h.register)
	mux.HandleFunc("POST /api/users/login", h.login)
	mux.HandleFunc("GET /api/users/me", h.me)
}

func (h *Handlers) register(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeRegister(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), h.BcryptCost)
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	u, err := h.Store.Create(r.Context(), req.Email, req.Name, hash)
	switch {
	case errors.Is(err, ErrEmailTaken):
		httpx.WriteError(w, http.StatusConflict, "email_taken", "an account with this email already exists")
	case err != nil:
		httpx.WriteServerError(w, r, h.Log, err)
	default:
		h.Registrations.Inc()
		h.Log.InfoContext(r.Context(), "user registered", "user_id", u.ID)
		httpx.WriteJSON(w, http.StatusCreated, u)
	}
}

func (h *Handlers) login(w http.ResponseWriter, r *http.Request) {
	req, err := DecodeLogin(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		httpx.WriteBadRequest(w, err)
		return
	}
	u, err := h.Store.ByEmail(r.Context(), req.Email)
	if err != nil && !errors.Is(err, ErrNotFound) {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	hash := u.passwordHash
	if err != nil {
		hash = h.dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(req.Password)) != nil || err != nil {
		h.Logins.WithLabelValues("rejected").Inc()
		httpx.WriteError(w, http.StatusUnauthorized, "bad_credentials", "email or password is wrong")
		return
	}
	token, exp, err := h.Keys.Issue(u.ID, u.Email)
	if err != nil {
		httpx.WriteServerError(w, r, h.Log, err)
		return
	}
	h.Logins.WithLabelValues("ok").Inc()
	httpx.WriteJSON(w, http.StatusOK, TokenResponse{Token: token, TokenType: "Bearer", ExpiresAt: exp, User: u})
}

// me verifies the bearer token itself (the user service holds JWT_SECRET), so
// it is safe even when reached without the gateway.
func (h *Handlers) me(w http.ResponseWriter, r *http.Request) {
	tok, err := auth.BearerToken(r.Header.Get("Authorization"))
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shop"`)
		httpx.WriteError(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required")
		return
	}
	claims, err := h.Keys.Parse(tok)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shop", error="invalid_token"`)
		httpx.WriteError(w, http.StatusUnauthorized, "unauthorized", "the token is invalid or expired")
		return
	}
	u, err := h.Store.ByID(r.Context(), claims.UserID())
	switch {
	case errors.Is(err, ErrNotFound):
		httpx.WriteError(w, http.StatusUnauthorized, "unauthorized", "the token's user no longer exists")
	case err != nil:
		httpx.WriteServerError(w, r, h.Log, err)
	default:
		httpx.WriteJSON(w, http.StatusOK, u)
	}
}
