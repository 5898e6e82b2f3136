package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// The answer to a request that failed inside the service (a panic, an
// unexpected error): 500 with this code and message, never the cause.
const (
	InternalCode    = "internal"
	InternalMessage = "internal error"
)

// LogPanic logs a recovered panic v with the goroutine's stack.
func LogPanic(ctx context.Context, log *slog.Logger, v any) {
	log.ErrorContext(ctx, "handler panic", "panic", v, "stack", string(debug.Stack()))
}

// Recover turns a handler panic into a logged 500 instead of a dropped
// connection. (http.ErrAbortHandler is re-raised: it is the proxy's way of
// aborting a response.)
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				LogPanic(r.Context(), log, v)
				WriteError(w, http.StatusInternalServerError, InternalCode, InternalMessage)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
