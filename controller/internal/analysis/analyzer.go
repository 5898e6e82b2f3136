package analysis

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"shop/controller/internal/api/v1alpha1"
	"shop/controller/internal/rollout"
)

// Querier answers instant PromQL queries; *Prometheus is the real one.
type Querier interface {
	Query(ctx context.Context, promql string, at time.Time) (float64, error)
}

// TemplateData is what a query's template can use.
type TemplateData struct {
	Namespace, Name, Canary, Stable, CanaryDeployment string
	// Interval is the release's interval as a PromQL duration (e.g. 30s, 1500ms).
	Interval string
}

// Render fills in one query's template for a release.
func Render(cr *v1alpha1.CanaryRelease, q v1alpha1.AnalysisQuery) (string, error) {
	t, err := template.New(q.Name).Option("missingkey=error").Parse(q.Query)
	if err != nil {
		return "", fmt.Errorf("spec.analysis.queries[%s].query is not a valid template: %w", q.Name, err)
	}
	var b bytes.Buffer
	data := TemplateData{Namespace: cr.Namespace, Name: cr.Name, Canary: cr.Spec.Canary.Name, Stable: cr.Spec.Stable.Name,
		CanaryDeployment: cr.Spec.CanaryDeployment, Interval: promDuration(cr.Spec.Interval.Duration)}
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("spec.analysis.queries[%s].query: %w (fields: .Namespace .Name .Canary .Stable .CanaryDeployment .Interval)", q.Name, err)
	}
	return b.String(), nil
}

// Validate renders every query once, so a bad template is reported before any traffic moves.
func Validate(cr *v1alpha1.CanaryRelease) error {
	for _, q := range cr.Spec.Analysis.Queries {
		if _, err := Render(cr, q); err != nil {
			return err
		}
		if _, err := strconv.ParseFloat(q.Threshold, 64); err != nil {
			return fmt.Errorf("spec.analysis.queries[%s].threshold %q is not a number", q.Name, q.Threshold)
		}
	}
	return nil
}

// promDuration writes d the way PromQL reads it (whole milliseconds).
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}

// Report is one analysis: every query's result and the verdict.
type Report struct {
	Results []v1alpha1.QueryResult
	Verdict rollout.Verdict
}

// Run evaluates every query of the release at time at. A query with no number, a rejected query or a
// value on the wrong side of its threshold fails the check; the first failing query is the verdict's.
// Only a transport problem (Prometheus unreachable, 5xx) is returned as an error: the check is then
// neither passed nor failed, and the caller retries with backoff.
func Run(ctx context.Context, q Querier, cr *v1alpha1.CanaryRelease, at time.Time) (Report, error) {
	rep := Report{Verdict: rollout.Verdict{Passed: true}}
	for _, spec := range cr.Spec.Analysis.Queries {
		res := v1alpha1.QueryResult{Name: spec.Name, Threshold: spec.Threshold, Direction: spec.Direction}
		threshold, perr := strconv.ParseFloat(spec.Threshold, 64)
		promql, err := Render(cr, spec)
		switch {
		case perr != nil:
			res.Error = fmt.Sprintf("threshold %q is not a number", spec.Threshold)
		case err != nil:
			res.Error = err.Error()
		default:
			v, qerr := q.Query(ctx, promql, at)
			var rejected *QueryError
			switch {
			case errors.Is(qerr, ErrNoValue):
				res.Error = "no data: the query returned no number (does the canary get traffic?)"
			case errors.As(qerr, &rejected):
				res.Error = rejected.Error()
			case qerr != nil:
				return Report{}, fmt.Errorf("analysis query %s: %w", spec.Name, qerr)
			default:
				res.Value = strconv.FormatFloat(v, 'g', 6, 64)
				res.Passed = passes(v, threshold, spec.Direction)
			}
		}
		rep.Results = append(rep.Results, res)
		if !res.Passed && rep.Verdict.Passed {
			rep.Verdict = rollout.Verdict{Query: spec.Name, Value: res.Value, Threshold: spec.Threshold,
				Direction: spec.Direction, Reason: strings.TrimSpace(res.Error)}
		}
	}
	return rep, nil
}

func passes(v, threshold float64, d v1alpha1.Direction) bool {
	if d == v1alpha1.DirectionMax {
		return v <= threshold
	}
	return v >= threshold
}
