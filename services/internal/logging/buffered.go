package logging

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Buffered is an io.Writer that gathers log records in memory and writes
// them to the underlying writer in batches: when the buffer is full, at most
// one interval after a record arrived in an empty buffer, on Flush, and on
// Close. A service under load then writes its access log in one system call
// per batch instead of one per request (what nginx's `access_log ... buffer=`
// does). An idle service pays nothing: the timer runs only while records
// wait. Records of level warn and above are flushed at once by the logger
// NewBuffered returns, so what explains a failure is never held back; at most
// one interval of info records is lost if the process dies without Close.
type Buffered struct {
	mu       sync.Mutex
	bw       *bufio.Writer
	interval time.Duration
	timer    *time.Timer
	armed    bool // the timer will flush what waits
	closed   bool
}

// BufferSize is how much Buffered holds before it writes (a few hundred
// access log lines).
const BufferSize = 64 << 10

// FlushInterval bounds how long a record waits in Buffered.
const FlushInterval = 100 * time.Millisecond

// NewBufferedWriter returns a Buffered over w holding size bytes, writing
// what waits at most interval after it arrived.
func NewBufferedWriter(w io.Writer, size int, interval time.Duration) *Buffered {
	b := &Buffered{bw: bufio.NewWriterSize(w, size), interval: interval}
	b.timer = time.AfterFunc(time.Hour, b.timed)
	b.timer.Stop()
	return b
}

// Write adds p to the buffer; a record larger than the buffer is written
// through. Each call of the JSON handler is one whole record, so records are
// never split between two writes of the underlying writer unless larger than
// the buffer.
func (b *Buffered) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(p) > b.bw.Available() && b.bw.Buffered() > 0 {
		if err := b.bw.Flush(); err != nil {
			return 0, err
		}
	}
	n, err := b.bw.Write(p)
	if b.bw.Buffered() > 0 && !b.armed && !b.closed {
		b.armed = true
		b.timer.Reset(b.interval)
	}
	return n, err
}

// Flush writes what is buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bw.Flush()
}

// Close stops the timer and writes what is buffered. Records written after
// Close are buffered until the next Flush.
func (b *Buffered) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	b.timer.Stop()
	return b.bw.Flush()
}

// timed is the timer's flush.
func (b *Buffered) timed() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.armed = false
	_ = b.bw.Flush()
}
