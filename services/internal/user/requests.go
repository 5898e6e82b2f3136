package user

import (
	"io"
	"net/mail"
	"strings"
	"unicode/utf8"

	"shop/internal/httpx"
)

// RegisterRequest is the body of POST /api/users/register.
type RegisterRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// LoginRequest is the body of POST /api/users/login.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Password length bounds; bcrypt reads at most 72 bytes.
const (
	MinPassword = 8
	MaxPassword = 72
)

// NormalizeEmail lower-cases and checks an address.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return "", httpx.Invalid("field \"email\" is required")
	}
	if len(s) > 254 {
		return "", httpx.Invalid("field \"email\" is longer than 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || !strings.Contains(s[strings.IndexByte(s, '@')+1:], ".") {
		return "", httpx.Invalid("field \"email\" must be an address like name@example.com")
	}
	return s, nil
}

// DecodeRegister decodes and validates a registration body.
func DecodeRegister(contentType string, body io.Reader) (RegisterRequest, error) {
	var req RegisterRequest
	if err := httpx.DecodeJSON(contentType, body, &req); err != nil {
		return req, err
	}
	var err error
	if req.Email, err = NormalizeEmail(req.Email); err != nil {
		return req, err
	}
	if len(req.Password) < MinPassword || len(req.Password) > MaxPassword {
		return req, httpx.Invalid("field \"password\" must be %d to %d bytes long", MinPassword, MaxPassword)
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || !utf8.ValidString(req.Name) || utf8.RuneCountInString(req.Name) > 100 {
		return req, httpx.Invalid("field \"name\" must be 1 to 100 characters of UTF-8")
	}
	return req, nil
}

// DecodeLogin decodes and validates a login body.
func DecodeLogin(contentType string, body io.Reader) (LoginRequest, error) {
	var req LoginRequest
	if err := httpx.DecodeJSON(contentType, body, &req); err != nil {
		return req, err
	}
	var err error
	if req.Email, err = NormalizeEmail(req.Email); err != nil {
		return req, err
	}
	if req.Password == "" || len(req.Password) > MaxPassword {
		return req, httpx.Invalid("field \"password\" must be 1 to %d bytes long", MaxPassword)
	}
	return req, nil
}
