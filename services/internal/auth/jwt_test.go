package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const secret = "0123456789abcdef0123456789abcdef"

func TestIssuedTokensParseBackToTheUser(t *testing.T) {
	k := NewKeys(secret, time.Hour)
	tok, exp, err := k.Issue(42, "a@b.co")
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(exp); d < 59*time.Minute || d > time.Hour {
		t.Errorf("expiry in %s, want about 1h", d)
	}
	c, err := k.Parse(tok)
	if err != nil {
		t.Fatal(err)
	}
	if c.UserID() != 42 || c.Email != "a@b.co" || c.Issuer != Issuer {
		t.Errorf("claims: %+v", c)
	}
}

func sign(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseRejectsForgedExpiredAndMalformedTokens(t *testing.T) {
	k := NewKeys(secret, time.Hour)
	now := time.Now()
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": Issuer, "sub": "7", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	with := func(key string, v any) jwt.MapClaims {
		c := valid()
		if v == nil {
			delete(c, key)
		} else {
			c[key] = v
		}
		return c
	}
	cases := []struct {
		name, token string
	}{
		{"empty", ""},
		{"garbage", "not-a-token"},
		{"three garbage parts", "a.b.c"},
		{"other key", sign(t, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef!!"), valid())},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid())},
		{"HS512", sign(t, jwt.SigningMethodHS512, []byte(secret), valid())},
		{"expired", sign(t, jwt.SigningMethodHS256, []byte(secret), with("exp", now.Add(-time.Minute).Unix()))},
		{"no expiry", sign(t, jwt.SigningMethodHS256, []byte(secret), with("exp", nil))},
		{"issued in the future", sign(t, jwt.SigningMethodHS256, []byte(secret), with("iat", now.Add(time.Hour).Unix()))},
		{"other issuer", sign(t, jwt.SigningMethodHS256, []byte(secret), with("iss", "evil"))},
		{"non-numeric subject", sign(t, jwt.SigningMethodHS256, []byte(secret), with("sub", "admin"))},
		{"zero subject", sign(t, jwt.SigningMethodHS256, []byte(secret), with("sub", "0"))},
		{"padded subject", sign(t, jwt.SigningMethodHS256, []byte(secret), with("sub", "007"))},
		{"too long", strings.Repeat("a", 5000)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := k.Parse(tc.token); err == nil {
				t.Fatalf("accepted: %+v", c)
			}
		})
	}
}

func TestBearerToken(t *testing.T) {
	cases := []struct {
		header, want string
		ok           bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"BEARER x.y.z", "x.y.z", true},
		{"Bearer ", "", false},
		{"Basic abc", "", false},
		{"", "", false},
		{"Bearerabc", "", false},
	}
	for _, tc := range cases {
		got, err := BearerToken(tc.header)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("BearerToken(%q) = %q, %v", tc.header, got, err)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	k := NewKeys(secret, time.Hour)
	tok, _, _ := k.Issue(1, "a@b.co")
	for _, s := range []string{tok, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", tok[:len(tok)-2], "Bearer " + tok} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if b, err := BearerToken(s); err == nil {
			s = b
		}
		c, err := k.Parse(s)
		if err == nil && (c.UserID() <= 0 || c.ExpiresAt == nil || c.Issuer != Issuer) {
			t.Fatalf("accepted a token with bad claims: %+v", c)
		}
	})
}
