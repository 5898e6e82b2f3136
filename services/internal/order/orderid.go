package order

import (
	"crypto/rand"
	"encoding/hex"
)

// newOrderID returns an order's id: 32 hex characters from crypto/rand. An
// order id is shown to its owner and names the order in URLs, so it must not
// be guessable from another one (request ids, reqid.New, need only be unique).
func newOrderID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
