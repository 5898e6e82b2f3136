package gateway

import (
	"hash/maphash"
	"sync"
	"time"

	"shop/internal/auth"
)

// TokenCache remembers tokens that verified, so a client's repeated requests
// skip the HMAC check and the JSON decoding of the claims. Only a byte-exact
// token that verified before hits; an entry is dropped once the token
// expires. Each shard holds at most perShard tokens and starts over when full.
type TokenCache struct {
	keys     *auth.Keys
	now      func() time.Time
	seed     maphash.Seed
	perShard int
	shards   [32]tokenShard
}

type tokenShard struct {
	mu sync.RWMutex
	m  map[string]*auth.Claims
}

// NewTokenCache caches up to about size verified tokens of keys.
func NewTokenCache(keys *auth.Keys, size int) *TokenCache {
	c := &TokenCache{keys: keys, now: time.Now, seed: maphash.MakeSeed(), perShard: max(1, size/32)}
	for i := range c.shards {
		c.shards[i].m = make(map[string]*auth.Claims)
	}
	return c
}

// Parse returns the token's claims, verifying it unless it verified before.
func (c *TokenCache) Parse(token string) (*auth.Claims, error) {
	sh := &c.shards[maphash.String(c.seed, token)%uint64(len(c.shards))]
	sh.mu.RLock()
	claims, ok := sh.m[token]
	sh.mu.RUnlock()
	if ok {
		if c.now().Before(claims.ExpiresAt.Time) {
			return claims, nil
		}
		sh.mu.Lock()
		delete(sh.m, token)
		sh.mu.Unlock()
	}
	claims, err := c.keys.Parse(token)
	if err != nil {
		return nil, err
	}
	sh.mu.Lock()
	if len(sh.m) >= c.perShard {
		clear(sh.m)
	}
	sh.m[token] = claims
	sh.mu.Unlock()
	return claims, nil
}
