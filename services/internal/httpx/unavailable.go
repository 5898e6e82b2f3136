package httpx

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"syscall"

	"github.com/go-sql-driver/mysql"
)

// Unavailable reports errors that mean a dependency is down or too slow
// (connection refused or reset, timeouts, a closed connection), as opposed to
// a bug or bad data.
func Unavailable(err error) bool {
	var ne net.Error
	var me *mysql.MySQLError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed),
		errors.Is(err, ErrDependency):
		return true
	case errors.As(err, &ne):
		return true
	case errors.As(err, &me):
		// 1040 too many connections, 1205 lock wait timeout, 1213 deadlock, 2006/2013 server gone.
		switch me.Number {
		case 1040, 1205, 1213, 2006, 2013:
			return true
		}
	}
	return false
}

// ErrDependency marks an error as "a dependency is unavailable".
var ErrDependency = errors.New("dependency unavailable")

// WriteServerError logs err and answers 503 (with Retry-After) when a
// dependency is unavailable, else 500. Clients never see err's text.
func WriteServerError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The client went away; nobody reads the answer.
		w.WriteHeader(499)
		return
	}
	if Unavailable(err) {
		log.WarnContext(r.Context(), "dependency unavailable", "err", err)
		w.Header().Set("Retry-After", "1")
		WriteError(w, http.StatusServiceUnavailable, "unavailable", "a dependency is unavailable; retry shortly")
		return
	}
	log.ErrorContext(r.Context(), "internal error", "err", err)
	WriteError(w, http.StatusInternalServerError, InternalCode, InternalMessage)
}
