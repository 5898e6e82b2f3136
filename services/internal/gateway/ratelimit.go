package gateway

import (
	"hash/maphash"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a per-client token bucket: each key (a user id or a client IP)
// gets rps tokens per second up to burst. Idle keys are forgotten by Sweep.
type Limiter struct {
	rps    rate.Limit
	burst  int
	now    func() time.Time
	seed   maphash.Seed
	shards [64]limiterShard
}

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	lim      *rate.Limiter
	lastSeen atomic.Int64 // unix nanoseconds
}

// NewLimiter returns a Limiter allowing rps requests per second with burst.
func NewLimiter(rps float64, burst int) *Limiter {
	l := &Limiter{rps: rate.Limit(rps), burst: burst, now: time.Now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

// Allow takes one token for key. When none is left it returns false and how
// long until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := l.now()
	sh := &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
	sh.mu.Lock()
	b, ok := sh.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rps, l.burst)}
		sh.buckets[key] = b
	}
	sh.mu.Unlock()
	b.lastSeen.Store(now.UnixNano())
	r := b.lim.ReserveN(now, 1)
	if !r.OK() {
		return false, time.Second
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// Sweep forgets keys unused for idle; it returns how many remain.
func (l *Limiter) Sweep(idle time.Duration) int {
	cutoff := l.now().Add(-idle).UnixNano()
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		for k, b := range sh.buckets {
			if b.lastSeen.Load() < cutoff {
				delete(sh.buckets, k)
			}
		}
		n += len(sh.buckets)
		sh.mu.Unlock()
	}
	return n
}

// RetryAfter is the Retry-After header value for a wait: whole seconds, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
