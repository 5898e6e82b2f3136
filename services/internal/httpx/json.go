// Package httpx holds the JSON request and response helpers the services share.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// MaxBody is the largest request body a JSON endpoint accepts.
const MaxBody = 64 << 10

// Error is the JSON body of every error response.
type Error struct {
	Error string `json:"error"`
	// Code is a stable machine-readable reason, e.g. "bad_request".
	Code string `json:"code"`
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes {"error": msg, "code": code} with status.
func WriteError(w http.ResponseWriter, status int, code, msg string) {
	WriteJSON(w, status, Error{Error: msg, Code: code})
}

// ErrorBody is the body WriteError writes (Content-Type application/json),
// for a server that writes its answers without an http.ResponseWriter.
func ErrorBody(code, msg string) []byte {
	b, _ := json.Marshal(Error{Error: msg, Code: code})
	return append(b, '\n')
}

// BadRequest is a client error found while decoding or validating a request.
type BadRequest struct {
	Status int // 400, 413 or 415
	Msg    string
}

func (e *BadRequest) Error() string { return e.Msg }

// Invalid returns a 400 BadRequest with a formatted message.
func Invalid(format string, args ...any) error {
	return &BadRequest{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

// DecodeJSON decodes exactly one JSON object from body into v, rejecting
// unknown fields, trailing data and bodies over MaxBody. contentType may be
// empty or must be application/json. Errors are *BadRequest.
func DecodeJSON(contentType string, body io.Reader, v any) error {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/json" {
			return &BadRequest{Status: http.StatusUnsupportedMediaType, Msg: "Content-Type must be application/json"}
		}
	}
	b, err := io.ReadAll(io.LimitReader(body, MaxBody+1))
	if err != nil {
		return Invalid("the request body could not be read: %v", err)
	}
	if len(b) > MaxBody {
		return &BadRequest{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body is larger than %d bytes", MaxBody)}
	}
	if !utf8.Valid(b) {
		return Invalid("invalid JSON body: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return Invalid("invalid JSON body: %s", describe(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Invalid("invalid JSON body: unexpected data after the JSON object")
	}
	return nil
}

func describe(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "body is empty"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "body ends in the middle of a value"
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s, got %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("expected a JSON object, got %s", typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	default:
		return err.Error()
	}
}

// Decode is DecodeJSON on a request; on failure it writes the error response
// and returns false.
func Decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := DecodeJSON(r.Header.Get("Content-Type"), r.Body, v); err != nil {
		WriteBadRequest(w, err)
		return false
	}
	return true
}

// WriteBadRequest writes err as a client error: its status when it is a
// *BadRequest, else 400.
func WriteBadRequest(w http.ResponseWriter, err error) {
	var br *BadRequest
	if errors.As(err, &br) {
		WriteError(w, br.Status, codeFor(br.Status), br.Msg)
		return
	}
	WriteError(w, http.StatusBadRequest, "bad_request", err.Error())
}

func codeFor(status int) string {
	switch status {
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	default:
		return "bad_request"
	}
}
