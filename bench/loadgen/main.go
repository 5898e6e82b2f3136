// Command loadgen drives the shop benchmarks where wrk cannot:
//
//	loadgen rate   -url URL -rate 2000 -duration 10s [-header 'K: V']...
//	    open loop at a fixed rate; latency is measured from the time each
//	    request was due, so a stalled server is not hidden by a slowed
//	    client (no coordinated omission).
//	loadgen orders -url GATEWAY -tokens FILE -products 1,2 [-clients 32]
//	    closed loop: each client places one-unit orders through the gateway
//	    until every product reports insufficient stock, then tries once more
//	    on each product (all must be refused).
//	loadgen serve  -addr 127.0.0.1:PORT -body FILE [-content-type T]
//	    a steady upstream: answers every GET with 200 and the body from
//	    FILE (held in memory), /readyz included, until SIGINT/SIGTERM. The
//	    gateway benchmark measures the latency a proxy adds against it, where
//	    the real product service's own tail (MariaDB, Redis, the same two
//	    cores) would hide what the proxy adds.
//
// Every run is bounded by -max requests and -timeout. The last line of the
// output is "RESULT key=value ...", which the bench scripts parse.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen rate|orders|serve [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "rate":
		err = runRate(os.Args[2:])
	case "orders":
		err = runOrders(os.Args[2:])
	case "serve":
		err = runServe(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (use rate|orders|serve)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func client(conns int, timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			MaxConnsPerHost:     conns,
			DisableCompression:  true,
		},
	}
}

// pct is the q-th percentile (0..100) of sorted durations, nearest rank.
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q/100*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }

func runRate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	url := fs.String("url", "", "target URL (GET)")
	rate := fs.Float64("rate", 2000, "requests per second")
	dur := fs.Duration("duration", 10*time.Second, "how long to send")
	warm := fs.Duration("warmup", 2*time.Second, "sent at the same rate first and not counted")
	conns := fs.Int("conns", 64, "at most this many connections (and requests in flight)")
	timeout := fs.Duration("timeout", 5*time.Second, "per-request timeout")
	var hs headers
	fs.Var(&hs, "header", "request header 'Name: value' (repeatable)")
	_ = fs.Parse(args)
	if *url == "" || *rate <= 0 || *dur <= 0 || *conns <= 0 {
		return errors.New("rate: -url, a positive -rate, -duration and -conns are required")
	}
	hdr := http.Header{}
	for _, h := range hs {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return fmt.Errorf("rate: -header %q is not 'Name: value'", h)
		}
		hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	c := client(*conns, *timeout)
	interval := time.Duration(float64(time.Second) / *rate)
	total := int(*dur / interval)
	warmN := int(*warm / interval)
	due := make(chan time.Time, total+warmN)
	lat := make([]time.Duration, total+warmN)
	var fails, non2xx atomic.Int64
	var wg sync.WaitGroup
	var idx atomic.Int64
	for range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for t := range due {
				i := idx.Add(1) - 1
				req, _ := http.NewRequest(http.MethodGet, *url, nil)
				req.Header = hdr.Clone()
				resp, err := c.Do(req)
				if err != nil {
					if i >= int64(warmN) {
						fails.Add(1)
					}
					lat[i] = -1
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t)
				if resp.StatusCode/100 != 2 && i >= int64(warmN) {
					non2xx.Add(1)
				}
			}
		}()
	}
	start := time.Now()
	for i := range total + warmN {
		t := start.Add(time.Duration(i) * interval)
		if d := time.Until(t); d > 0 {
			time.Sleep(d)
		}
		due <- t
	}
	close(due)
	sendEnd := time.Now()
	wg.Wait()
	measured := lat[warmN:] // dispatch order = due order, so the warm-up is the first warmN
	ok := make([]time.Duration, 0, len(measured))
	for _, d := range measured {
		if d >= 0 {
			ok = append(ok, d)
		}
	}
	slices.Sort(ok)
	elapsed := sendEnd.Sub(start.Add(time.Duration(warmN) * interval))
	fmt.Printf("rate %.0f/s for %s to %s: %d requests, %d failed, %d non-2xx\n", *rate, *dur, *url, total, fails.Load(), non2xx.Load())
	fmt.Printf("latency from the due time: p50 %sms p90 %sms p99 %sms p99.9 %sms max %sms\n",
		ms(pct(ok, 50)), ms(pct(ok, 90)), ms(pct(ok, 99)), ms(pct(ok, 99.9)), ms(pct(ok, 100)))
	fmt.Printf("RESULT requests=%d sent_rps=%.0f errors=%d non2xx=%d p50_ms=%s p90_ms=%s p99_ms=%s p999_ms=%s max_ms=%s\n",
		total, float64(total)/elapsed.Seconds(), fails.Load(), non2xx.Load(),
		ms(pct(ok, 50)), ms(pct(ok, 90)), ms(pct(ok, 99)), ms(pct(ok, 99.9)), ms(pct(ok, 100)))
	return nil
}

func runOrders(args []string) error {
	fs := flag.NewFlagSet("orders", flag.ExitOnError)
	url := fs.String("url", "", "gateway base URL")
	tokFile := fs.String("tokens", "", "file with one bearer token per line (one per client, reused round robin)")
	prodList := fs.String("products", "", "comma-separated product ids")
	clients := fs.Int("clients", 32, "concurrent clients")
	maxReq := fs.Int64("max", 200000, "stop after this many requests")
	timeout := fs.Duration("timeout", 120*time.Second, "stop after this long")
	_ = fs.Parse(args)
	toks, err := os.ReadFile(*tokFile)
	if err != nil {
		return err
	}
	var tokens []string
	for _, l := range strings.Split(string(toks), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			tokens = append(tokens, l)
		}
	}
	var products []int64
	for _, s := range strings.Split(*prodList, ",") {
		id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("orders: -products: %q is not an id", s)
		}
		products = append(products, id)
	}
	if *url == "" || len(tokens) == 0 || len(products) == 0 || *clients <= 0 {
		return errors.New("orders: -url, -tokens (non-empty) and -products are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := client(*clients, 15*time.Second)

	exhausted := make([]atomic.Bool, len(products))
	var sent atomic.Int64
	type tally struct {
		created, insufficient, other, errs int64
		lat                                []time.Duration
		lastCreated                        time.Time
		otherCodes                         map[int]int64
		finalCreated                       int64 // created in the final sweep (only if stock came back)
	}
	results := make([]tally, *clients)
	post := func(tok string, pid int64) (int, time.Duration, error) {
		body := fmt.Sprintf(`{"items":[{"product_id":%d,"quantity":1}]}`, pid)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, *url+"/api/orders", bytes.NewBufferString(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		t := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, time.Since(t), nil
	}
	record := func(r *tally, pid int, code int, d time.Duration, err error, final bool) {
		switch {
		case err != nil:
			r.errs++
		case code == http.StatusCreated:
			r.created++
			r.lat = append(r.lat, d)
			r.lastCreated = time.Now()
			if final {
				r.finalCreated++
			}
		case code == http.StatusConflict:
			r.insufficient++
			exhausted[pid].Store(true)
		default:
			r.other++
			r.otherCodes[code]++
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[w]
			r.otherCodes = map[int]int64{}
			tok := tokens[w%len(tokens)]
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for ctx.Err() == nil && sent.Add(1) <= *maxReq {
				open := make([]int, 0, len(products))
				for i := range products {
					if !exhausted[i].Load() {
						open = append(open, i)
					}
				}
				if len(open) == 0 {
					break
				}
				pi := open[rng.IntN(len(open))]
				code, d, err := post(tok, products[pi])
				record(r, pi, code, d, err, false)
			}
			// Every product was refused once: one more try each must be refused too.
			for pi := range products {
				if ctx.Err() != nil {
					break
				}
				code, d, err := post(tok, products[pi])
				record(r, pi, code, d, err, true)
			}
		}()
	}
	wg.Wait()
	var all tally
	all.otherCodes = map[int]int64{}
	for _, r := range results {
		all.created += r.created
		all.insufficient += r.insufficient
		all.other += r.other
		all.errs += r.errs
		all.finalCreated += r.finalCreated
		all.lat = append(all.lat, r.lat...)
		if r.lastCreated.After(all.lastCreated) {
			all.lastCreated = r.lastCreated
		}
		for k, v := range r.otherCodes {
			all.otherCodes[k] += v
		}
	}
	slices.Sort(all.lat)
	selling := all.lastCreated.Sub(start)
	rps := 0.0
	if selling > 0 {
		rps = float64(all.created) / selling.Seconds()
	}
	fmt.Printf("%d clients: %d orders created in %s (until the last unit sold), %d refused 409, %d other statuses %v, %d transport errors, timed out: %v\n",
		*clients, all.created, selling.Round(time.Millisecond), all.insufficient, all.other, all.otherCodes, all.errs, ctx.Err() != nil)
	fmt.Printf("order latency (201): p50 %sms p99 %sms max %sms\n", ms(pct(all.lat, 50)), ms(pct(all.lat, 99)), ms(pct(all.lat, 100)))
	fmt.Printf("RESULT created=%d refused=%d other=%d errors=%d final_sweep_created=%d seconds=%.3f orders_per_s=%.1f p50_ms=%s p99_ms=%s timed_out=%v\n",
		all.created, all.insufficient, all.other, all.errs, all.finalCreated, selling.Seconds(), rps,
		ms(pct(all.lat, 50)), ms(pct(all.lat, 99)), ctx.Err() != nil)
	return nil
}
