// Package analysis runs a CanaryRelease's Prometheus checks: it renders each query's template,
// asks Prometheus's HTTP API for an instant value and compares it with the threshold.
package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Prometheus queries the instant-query endpoint (/api/v1/query) of one Prometheus server.
type Prometheus struct {
	base   *url.URL
	client *http.Client
}

// NewPrometheus checks the address (e.g. http://prometheus.observability:9090) and returns a client
// whose queries time out after timeout.
func NewPrometheus(address string, timeout time.Duration) (*Prometheus, error) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prometheus URL %q must be an absolute http(s) URL such as http://prometheus:9090", address)
	}
	return &Prometheus{base: u, client: &http.Client{Timeout: timeout}}, nil
}

// ErrNoValue is returned when a query's answer holds no number (an empty vector or NaN).
var ErrNoValue = errors.New("no data")

// apiResponse is the envelope of Prometheus's HTTP API.
type apiResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// QueryError is a query Prometheus rejected (bad PromQL): a problem of the spec, not of the network.
type QueryError struct{ Type, Message string }

func (e *QueryError) Error() string {
	return fmt.Sprintf("prometheus rejected the query (%s): %s", e.Type, e.Message)
}

// Query returns the single number a PromQL expression evaluates to at time at. An empty result or
// NaN gives ErrNoValue; several series give an error asking for an aggregation.
func (p *Prometheus) Query(ctx context.Context, promql string, at time.Time) (float64, error) {
	u := p.base.JoinPath("api/v1/query")
	form := url.Values{"query": {promql}, "time": {strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("prometheus query: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, fmt.Errorf("prometheus query: reading the answer: %w", err)
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return 0, fmt.Errorf("prometheus query: HTTP %d, not an API answer: %.200s", resp.StatusCode, body)
	}
	if r.Status != "success" {
		if r.ErrorType == "bad_data" {
			return 0, &QueryError{Type: r.ErrorType, Message: r.Error}
		}
		return 0, fmt.Errorf("prometheus query: HTTP %d, %s: %s", resp.StatusCode, r.ErrorType, r.Error)
	}
	return parseResult(r.Data.ResultType, r.Data.Result)
}

// parseResult takes the one number out of a scalar or a one-series vector.
func parseResult(kind string, raw json.RawMessage) (float64, error) {
	var sample []any // [ <unix time>, "<value>" ]
	switch kind {
	case "scalar":
		if err := json.Unmarshal(raw, &sample); err != nil {
			return 0, fmt.Errorf("prometheus query: bad scalar: %w", err)
		}
	case "vector":
		var vec []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(raw, &vec); err != nil {
			return 0, fmt.Errorf("prometheus query: bad vector: %w", err)
		}
		switch len(vec) {
		case 0:
			return 0, ErrNoValue
		case 1:
			sample = vec[0].Value
		default:
			return 0, &QueryError{Type: "several_series", Message: fmt.Sprintf(
				"the query returned %d series; aggregate it to one number (e.g. with sum())", len(vec))}
		}
	default:
		return 0, &QueryError{Type: "result_type", Message: fmt.Sprintf(
			"the query returned a %s; it must return a scalar or a one-series instant vector", kind)}
	}
	if len(sample) != 2 {
		return 0, fmt.Errorf("prometheus query: bad sample %v", sample)
	}
	s, ok := sample[1].(string)
	if !ok {
		return 0, fmt.Errorf("prometheus query: bad sample value %v", sample[1])
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("prometheus query: bad sample value %q", s)
	}
	if math.IsNaN(v) {
		return 0, ErrNoValue
	}
	return v, nil
}
