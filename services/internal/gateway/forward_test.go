package gateway

import (
	"net/http"
	"testing"

	"shop/internal/reqid"
)

func TestTheCanonicalHeaderNamesMatchTheExportedOnes(t *testing.T) {
	for name, key := range map[string]string{UserIDHeader: hUserID, UserEmailHeader: hUserEmail, reqid.Header: hRequestID} {
		if http.CanonicalHeaderKey(name) != key {
			t.Errorf("canonical form of %s is %s, the forwarder uses %s", name, http.CanonicalHeaderKey(name), key)
		}
	}
}
