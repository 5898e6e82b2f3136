package logging

import (
	"bufio"
	"io"
	"sync"
	"time"
)

// Buffered is an io.Writer that gathers log records in memory and writes
// them to the underlying writer in batches: when the buffer is full, every
// FlushInterval, on Flush, and on Close. A service under load then writes
// its access log in one system call per batch instead of one per request
// (what nginx's `access_log ... buffer=` does). Records of level warn and
// above are flushed at once by the logger NewBuffered returns, so what
// explains a failure is never held back; at most FlushInterval of info
// records is lost if the process dies without Close.
type Buffered struct {
	mu   sync.Mutex
	bw   *bufio.Writer
	stop chan struct{}
	done chan struct{}
}

// BufferSize is how much Buffered holds before it writes (a few hundred
// access log lines).
const BufferSize = 64 << 10

// FlushInterval bounds how long a record waits in Buffered.
const FlushInterval = 100 * time.Millisecond

// NewBufferedWriter returns a Buffered over w, flushing every interval until Close.
func NewBufferedWriter(w io.Writer, size int, interval time.Duration) *Buffered {
	b := &Buffered{bw: bufio.NewWriterSize(w, size), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushEvery(interval)
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
	return b.bw.Write(p)
}

// Flush writes what is buffered.
func (b *Buffered) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bw.Flush()
}

// Close stops the periodic flush and writes what is buffered. Records
// written after Close are buffered until the next Flush.
func (b *Buffered) Close() error {
	select {
	case <-b.stop:
	default:
		close(b.stop)
		<-b.done
	}
	return b.Flush()
}

func (b *Buffered) flushEvery(interval time.Duration) {
	defer close(b.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			_ = b.Flush()
		}
	}
}
