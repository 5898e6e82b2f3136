package order

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"

	"shop/internal/httpx"
	"shop/internal/stock"
)

// IdempotencyHeader names the client's key for a create request: retries
// with the same key (same user, same body) return the first order.
const IdempotencyHeader = "Idempotency-Key"

// ReplayedHeader is set to "true" on an answer that returns the order an
// earlier request with the same Idempotency-Key created.
const ReplayedHeader = "Idempotent-Replayed"

// MaxIdempotencyKey is the longest key accepted (the column's width).
const MaxIdempotencyKey = 128

// Idempotency is a create request's key and the hash of its normalized body.
// The zero value means "no key": every request creates an order.
type Idempotency struct {
	Key, BodyHash string
}

// Errors Begin returns for a key seen before.
var (
	// ErrKeyReused: the key was first used with a different body.
	ErrKeyReused = errors.New("idempotency key reused with a different body")
	// ErrInProgress: the first request with the key is still placing its order.
	ErrInProgress = errors.New("the first request with this idempotency key is still in progress")
)

// ParseIdempotencyKey validates the header: absent is fine (""), else one
// value of 1 to 128 printable ASCII characters without spaces.
func ParseIdempotencyKey(h http.Header) (string, error) {
	vals := h.Values(IdempotencyHeader)
	if len(vals) == 0 {
		return "", nil
	}
	if len(vals) > 1 {
		return "", httpx.Invalid("send one %s header, got %d", IdempotencyHeader, len(vals))
	}
	k := vals[0]
	if len(k) == 0 || len(k) > MaxIdempotencyKey {
		return "", httpx.Invalid("%s must be 1 to %d characters, got %d", IdempotencyHeader, MaxIdempotencyKey, len(k))
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", httpx.Invalid("%s must be printable ASCII without spaces (e.g. a UUID)", IdempotencyHeader)
		}
	}
	return k, nil
}

// BodyHash is the hash of an order's normalized items (sorted by product id,
// as DecodeCreate returns them): two bodies listing the same lines in another
// order or with other whitespace are the same request.
func BodyHash(items []stock.Item) string {
	h := sha256.New()
	for _, it := range items {
		h.Write([]byte(strconv.FormatInt(it.ProductID, 10) + "x" + strconv.FormatInt(it.Quantity, 10) + ";"))
	}
	return hex.EncodeToString(h.Sum(nil))
}
