package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"shop/internal/reqid"
)

func TestRecordsCarryServiceAndRequestIDAsJSON(t *testing.T) {
	cases := []struct {
		name, level string
		ctx         context.Context
		logDebug    bool
		wantID      string
	}{
		{"with a request id", "info", reqid.With(context.Background(), "req-1"), false, "req-1"},
		{"without one", "info", context.Background(), false, ""},
		{"debug filtered at info", "info", context.Background(), true, ""},
		{"bad level falls back to info", "loud", context.Background(), false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			log := New(&buf, tc.level, "svc").With("k", "v")
			if tc.logDebug {
				log.DebugContext(tc.ctx, "hidden")
				if buf.Len() != 0 {
					t.Fatalf("debug record written at %s: %s", tc.level, buf.String())
				}
				return
			}
			log.InfoContext(tc.ctx, "hello")
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("not JSON: %q", buf.String())
			}
			if rec["service"] != "svc" || rec["msg"] != "hello" || rec["k"] != "v" {
				t.Errorf("record %v", rec)
			}
			if id, _ := rec["request_id"].(string); id != tc.wantID {
				t.Errorf("request_id %q, want %q", id, tc.wantID)
			}
		})
	}
}

// lockedBuffer is a bytes.Buffer safe for the flusher's goroutine and the test's reads.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int // writes
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n++
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Split(strings.TrimSuffix(b.buf.String(), "\n"), "\n")
}

func (b *lockedBuffer) writes() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func TestBufferedLoggerHoldsInfoUntilAWarningOrClose(t *testing.T) {
	var out lockedBuffer
	log, closeLog := NewBuffered(&out, "info", "svc")
	for i := range 3 {
		log.Info("request", "n", i)
	}
	if out.writes() != 0 {
		t.Fatalf("info records written at once: %q", out.lines())
	}
	log.Warn("upstream unavailable")
	if got := out.lines(); len(got) != 4 || !strings.Contains(got[3], `"level":"WARN"`) || out.writes() != 1 {
		t.Fatalf("after a warning: %d writes of %q, want the 3 info records and the warning in one", out.writes(), got)
	}
	log.Info("last")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	if got := out.lines(); len(got) != 5 || !strings.Contains(got[4], `"msg":"last"`) {
		t.Fatalf("after close: %q", got)
	}
	if err := closeLog(); err != nil {
		t.Fatalf("a second close: %v", err)
	}
}

func TestBufferedWriterFlushesOnItsIntervalAndWhenFull(t *testing.T) {
	var out lockedBuffer
	b := NewBufferedWriter(&out, 64, 20*time.Millisecond)
	defer b.Close()
	_, _ = b.Write([]byte("one\n"))
	deadline := time.Now().Add(2 * time.Second)
	for out.writes() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := out.lines(); len(got) != 1 || got[0] != "one" {
		t.Fatalf("not written within 2s of a 20ms interval: %q", got)
	}
	b2 := NewBufferedWriter(&out, 64, time.Hour)
	defer b2.Close()
	line := strings.Repeat("x", 40) + "\n"
	_, _ = b2.Write([]byte(line))
	_, _ = b2.Write([]byte(line)) // does not fit: the first goes out whole
	big := strings.Repeat("y", 100) + "\n"
	_, _ = b2.Write([]byte(big)) // larger than the buffer: the second, then this one, whole
	if got := out.lines(); len(got) != 4 || got[1] != line[:40] || got[2] != line[:40] || got[3] != big[:100] {
		t.Fatalf("lines %q", got)
	}
}

func TestBufferedLoggerKeepsConcurrentRecordsWhole(t *testing.T) {
	var out lockedBuffer
	log, closeLog := NewBuffered(&out, "info", "svc")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				log.Info("request", "g", g, "i", i, "path", strings.Repeat("p", i%300))
			}
		}()
	}
	wg.Wait()
	_ = closeLog()
	got := out.lines()
	if len(got) != 4000 {
		t.Fatalf("%d lines, want 4000", len(got))
	}
	for _, l := range got {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("a record split or interleaved: %q", l)
		}
	}
	if w := out.writes(); w >= 4000/10 {
		t.Fatalf("%d writes for 4000 records: not batched", w)
	}
}

func TestBufferedWriterRunsItsTimerOnlyWhileRecordsWait(t *testing.T) {
	var out lockedBuffer
	b := NewBufferedWriter(&out, 64, 10*time.Millisecond)
	defer b.Close()
	armed := func() bool { b.mu.Lock(); defer b.mu.Unlock(); return b.armed }
	if armed() {
		t.Fatal("the timer runs before any record")
	}
	_, _ = b.Write([]byte("one\n"))
	if !armed() {
		t.Fatal("a waiting record without a timer")
	}
	deadline := time.Now().Add(2 * time.Second)
	for out.writes() == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	if out.writes() != 1 || armed() {
		t.Fatalf("after the timer: %d writes, timer running %v; want 1 write and no timer (an idle service never wakes)", out.writes(), armed())
	}
}
