package app

import (
	"math/rand/v2"
	"net/http"

	"shop/internal/httpx"
)

// FaultHeader marks an answer made by fault injection, so a test or an
// operator tells an injected 500 from a real one.
const FaultHeader = "X-Fault-Injected"

// FaultCode and FaultMessage are the JSON error of an injected fault.
const (
	FaultCode    = "injected_fault"
	FaultMessage = "injected fault (FAULT_ERROR_RATIO)"
)

// Faults answers 500 to a share ratio (0..1, FAULT_ERROR_RATIO) of requests
// before they reach next, as a bad release would: a drill of the canary
// analysis and rollback. Probes and metrics scrapes are never failed (the pod
// stays ready and measured). It sits inside the metrics middleware, so the
// injected answers are counted like real ones. rnd returns [0,1); ratio 0
// returns next unchanged.
func Faults(ratio float64, rnd func() float64, next http.Handler) http.Handler {
	if ratio <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		if rnd() < ratio {
			w.Header().Set(FaultHeader, "true")
			httpx.WriteError(w, http.StatusInternalServerError, FaultCode, FaultMessage)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// faultRand is the source of Faults in Run.
var faultRand = rand.Float64
