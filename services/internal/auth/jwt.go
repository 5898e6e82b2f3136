// Package auth issues and verifies the shop's JWTs: HS256, issuer "shop",
// subject = the user's numeric id, an expiry always.
package auth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the "iss" of every token.
const Issuer = "shop"

// MinSecretLen is the shortest JWT_SECRET accepted (HS256 wants >= 256 bits).
const MinSecretLen = 32

// Claims are the token's claims.
type Claims struct {
	Email string `json:"email"`
	jwt.RegisteredClaims
}

// UserID is the subject as a number.
func (c *Claims) UserID() int64 {
	id, _ := strconv.ParseInt(c.Subject, 10, 64)
	return id
}

// Keys signs and verifies tokens with one shared secret.
type Keys struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
	parser *jwt.Parser
}

// NewKeys returns Keys for secret; tokens live for ttl.
func NewKeys(secret string, ttl time.Duration) *Keys {
	k := &Keys{secret: []byte(secret), ttl: ttl, now: time.Now}
	k.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
		jwt.WithTimeFunc(func() time.Time { return k.now() }),
	)
	return k
}

// Issue returns a signed token for the user and its expiry.
func (k *Keys) Issue(userID int64, email string) (string, time.Time, error) {
	now := k.now().UTC().Truncate(time.Second)
	exp := now.Add(k.ttl)
	claims := Claims{
		Email: email,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   strconv.FormatInt(userID, 10),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(k.secret)
	return s, exp, err
}

// ErrNoToken means the Authorization header has no bearer token.
var ErrNoToken = errors.New("missing bearer token")

// Parse verifies token and returns its claims.
func (k *Keys) Parse(token string) (*Claims, error) {
	if len(token) > 4096 {
		return nil, errors.New("token too long")
	}
	var c Claims
	_, err := k.parser.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return k.secret, nil })
	if err != nil {
		return nil, err
	}
	if id, err := strconv.ParseInt(c.Subject, 10, 64); err != nil || id <= 0 || strconv.FormatInt(id, 10) != c.Subject {
		return nil, fmt.Errorf("token subject %q is not a user id", c.Subject)
	}
	return &c, nil
}

// BearerToken extracts the token from an Authorization header value.
func BearerToken(header string) (string, error) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", ErrNoToken
	}
	t := strings.TrimSpace(header[len(prefix):])
	if t == "" {
		return "", ErrNoToken
	}
	return t, nil
}
