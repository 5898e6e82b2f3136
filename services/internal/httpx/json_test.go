package httpx

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

type sample struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func TestDecodeJSONAcceptsOneObjectAndRejectsEverythingElse(t *testing.T) {
	cases := []struct {
		name, ctype, body string
		status            int // 0: accepted
		msg               string
	}{
		{"object", "application/json", `{"name":"a","count":2}`, 0, ""},
		{"charset parameter", "application/json; charset=utf-8", `{"name":"a"}`, 0, ""},
		{"no content type", "", `{"name":"a"}`, 0, ""},
		{"trailing whitespace", "", "{\"name\":\"a\"}\n ", 0, ""},
		{"empty", "", ``, 400, "body is empty"},
		{"truncated", "", `{"name":`, 400, "ends in the middle"},
		{"syntax", "", `{name:1}`, 400, "syntax error at byte 2"},
		{"wrong type", "", `{"count":"two"}`, 400, `field "count" must be int`},
		{"array", "", `[]`, 400, "expected a JSON object"},
		{"unknown field", "", `{"admin":true}`, 400, `unknown field "admin"`},
		{"two objects", "", `{}{}`, 400, "unexpected data after"},
		{"trailing garbage", "", `{} x`, 400, "unexpected data after"},
		{"form", "application/x-www-form-urlencoded", `name=a`, 415, "Content-Type must be application/json"},
		{"bad media type", ";;;", `{}`, 415, "Content-Type"},
		{"invalid UTF-8", "", "{\"name\":\"\xff\"}", 400, "not valid UTF-8"},
		{"too large", "", `{"name":"` + strings.Repeat("a", MaxBody) + `"}`, 413, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v sample
			err := DecodeJSON(tc.ctype, strings.NewReader(tc.body), &v)
			if tc.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var br *BadRequest
			if !errors.As(err, &br) || br.Status != tc.status || !strings.Contains(br.Msg, tc.msg) {
				t.Fatalf("got %v, want %d containing %q", err, tc.status, tc.msg)
			}
		})
	}
}

func TestUnavailableTellsOutagesFromBugs(t *testing.T) {
	if !Unavailable(ErrDependency) || !Unavailable(errors.Join(errors.New("x"), ErrDependency)) {
		t.Error("ErrDependency must count as unavailable")
	}
	if Unavailable(errors.New("syntax error in SQL")) {
		t.Error("a plain error must not count as unavailable")
	}
	_ = http.StatusOK
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{}`, `[]`, `{"count":1e400}`, `{"name":"\ud800"}`, "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var v sample
		err := DecodeJSON("application/json", strings.NewReader(body), &v)
		var br *BadRequest
		if err != nil && (!errors.As(err, &br) || br.Status < 400 || br.Status > 499) {
			t.Fatalf("error %v is not a client error", err)
		}
	})
}
