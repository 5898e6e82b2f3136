package rollout

import (
	"strings"
	"testing"
	"time"

	"shop/controller/internal/api/v1alpha1"
)

func TestNext(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	iv := 30 * time.Second
	steps := []int32{5, 25, 50, 100}
	pass := &Verdict{Passed: true}
	fail := &Verdict{Query: "success-rate", Value: "0.82", Threshold: "0.99", Direction: v1alpha1.DirectionMin}
	progressing := func(step, failed int32, started time.Time) State {
		return State{Phase: v1alpha1.PhaseProgressing, Step: step, Weight: steps[step], FailedChecks: failed,
			StepStartedAt: started, ObservedGeneration: 1}
	}

	cases := []struct {
		name        string
		in          Input
		want        State
		requeue     time.Duration
		events      []string // reasons, in order
		msgHas      string
		analysisDue bool
	}{
		{
			name:    "a new release with ready pods starts the first step",
			in:      Input{Generation: 1, CanaryReady: true, Now: t0},
			want:    progressing(0, 0, t0),
			requeue: iv, events: []string{"StepStarted"}, msgHas: "step 1 of 4: the canary gets 5%",
		},
		{
			name:   "a new release whose pods are not ready waits with weight 0",
			in:     Input{Generation: 1, CanaryReady: false, Now: t0},
			want:   State{Phase: v1alpha1.PhaseWaiting, ObservedGeneration: 1},
			msgHas: "waiting for the canary's pods",
		},
		{
			name:    "before the interval ends nothing moves and the rest of the interval is the requeue",
			in:      Input{Generation: 1, CanaryReady: true, Now: t0.Add(10 * time.Second), State: progressing(1, 0, t0)},
			want:    progressing(1, 0, t0),
			requeue: 20 * time.Second,
		},
		{
			name:    "a passed check at the end of the interval moves one step",
			in:      Input{Generation: 1, CanaryReady: true, Now: t0.Add(iv), State: progressing(1, 0, t0), Analysis: pass},
			want:    progressing(2, 0, t0.Add(iv)),
			requeue: iv, events: []string{"StepStarted"}, analysisDue: true,
		},
		{
			name:   "a passed check at the last step promotes and keeps its weight",
			in:     Input{Generation: 1, CanaryReady: true, Now: t0.Add(iv), State: progressing(3, 0, t0), Analysis: pass},
			want:   State{Phase: v1alpha1.PhasePromoted, Step: 3, Weight: 100, ObservedGeneration: 1},
			events: []string{"Promoted"}, msgHas: "promoted", analysisDue: true,
		},
		{
			name:    "a failed check within the limit stays on the step and checks again an interval later",
			in:      Input{Generation: 1, FailureLimit: 1, CanaryReady: true, Now: t0.Add(iv), State: progressing(1, 0, t0), Analysis: fail},
			want:    progressing(1, 1, t0.Add(iv)),
			requeue: iv, events: []string{"AnalysisFailed"}, msgHas: `query "success-rate" returned 0.82, threshold >= 0.99`, analysisDue: true,
		},
		{
			name:   "a failed check past the limit aborts with weight 0 and names query, value and threshold",
			in:     Input{Generation: 1, FailureLimit: 1, CanaryReady: true, Now: t0.Add(iv), State: progressing(2, 1, t0), Analysis: fail},
			want:   State{Phase: v1alpha1.PhaseAborted, Step: 2, Weight: 0, FailedChecks: 2, ObservedGeneration: 1},
			events: []string{"Aborted"}, msgHas: `query "success-rate" returned 0.82, threshold >= 0.99`, analysisDue: true,
		},
		{
			name:   "failure limit 0 aborts on the first failed check",
			in:     Input{Generation: 1, FailureLimit: 0, CanaryReady: true, Now: t0.Add(iv), State: progressing(0, 0, t0), Analysis: fail},
			want:   State{Phase: v1alpha1.PhaseAborted, Step: 0, FailedChecks: 1, ObservedGeneration: 1},
			events: []string{"Aborted"}, analysisDue: true,
		},
		{
			name:   "a Max query names its threshold with <=",
			in:     Input{Generation: 1, CanaryReady: true, Now: t0.Add(iv), State: progressing(0, 0, t0), Analysis: &Verdict{Query: "p99", Value: "0.9", Threshold: "0.25", Direction: v1alpha1.DirectionMax}},
			want:   State{Phase: v1alpha1.PhaseAborted, FailedChecks: 1, ObservedGeneration: 1},
			events: []string{"Aborted"}, msgHas: `query "p99" returned 0.9, threshold <= 0.25`, analysisDue: true,
		},
		{
			name: "an aborted release stays at weight 0",
			in:   Input{Generation: 1, CanaryReady: true, Now: t0.Add(time.Hour), State: State{Phase: v1alpha1.PhaseAborted, Step: 2, FailedChecks: 2, ObservedGeneration: 1}},
			want: State{Phase: v1alpha1.PhaseAborted, Step: 2, FailedChecks: 2, ObservedGeneration: 1},
		},
		{
			name:   "pods going unready mid-way take the canary's weight to 0 and keep the step",
			in:     Input{Generation: 1, CanaryReady: false, Now: t0.Add(iv), State: progressing(2, 1, t0)},
			want:   State{Phase: v1alpha1.PhaseWaiting, Step: 2, FailedChecks: 1, ObservedGeneration: 1},
			events: []string{"Waiting"},
		},
		{
			name:    "pods ready again resume the same step with a fresh interval",
			in:      Input{Generation: 1, CanaryReady: true, Now: t0, State: State{Phase: v1alpha1.PhaseWaiting, Step: 2, FailedChecks: 1, ObservedGeneration: 1}},
			want:    progressing(2, 1, t0),
			requeue: iv, events: []string{"StepStarted"},
		},
		{
			name:    "a spec edit mid-way restarts at the first step with no failed checks, ignoring a stale analysis",
			in:      Input{Generation: 2, FailureLimit: 0, CanaryReady: true, Now: t0.Add(iv), State: progressing(2, 1, t0), Analysis: fail},
			want:    State{Phase: v1alpha1.PhaseProgressing, Weight: 5, StepStartedAt: t0.Add(iv), ObservedGeneration: 2},
			requeue: iv, events: []string{"Restarted", "StepStarted"},
		},
		{
			name:    "a spec edit restarts an aborted release",
			in:      Input{Generation: 3, CanaryReady: true, Now: t0, State: State{Phase: v1alpha1.PhaseAborted, Step: 1, FailedChecks: 2, ObservedGeneration: 2}},
			want:    State{Phase: v1alpha1.PhaseProgressing, Weight: 5, StepStartedAt: t0, ObservedGeneration: 3},
			requeue: iv, events: []string{"Restarted", "StepStarted"},
		},
		{
			name:   "a promoted release whose pods go unready gets no traffic but stays promoted",
			in:     Input{Generation: 1, CanaryReady: false, Now: t0, State: State{Phase: v1alpha1.PhasePromoted, Step: 3, Weight: 100, ObservedGeneration: 1}},
			want:   State{Phase: v1alpha1.PhasePromoted, Step: 3, Weight: 0, ObservedGeneration: 1},
			msgHas: "not ready",
		},
		{
			name:    "due without an analysis asks to be called again at once and changes nothing",
			in:      Input{Generation: 1, CanaryReady: true, Now: t0.Add(2 * iv), State: progressing(1, 0, t0)},
			want:    progressing(1, 0, t0),
			requeue: time.Millisecond, analysisDue: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Steps, tc.in.Interval = steps, iv
			if tc.want.ObservedGeneration == 0 {
				t.Fatalf("bad case: want.ObservedGeneration unset")
			}
			if got := AnalysisDue(tc.in); got != tc.analysisDue {
				t.Errorf("AnalysisDue = %v, want %v", got, tc.analysisDue)
			}
			d := Next(tc.in)
			if !d.State.StepStartedAt.Equal(tc.want.StepStartedAt) {
				t.Errorf("StepStartedAt = %v, want %v", d.State.StepStartedAt, tc.want.StepStartedAt)
			}
			got, want := d.State, tc.want
			got.StepStartedAt, want.StepStartedAt = time.Time{}, time.Time{}
			if got != want {
				t.Errorf("state = %+v\nwant    %+v", got, want)
			}
			if d.RequeueAfter != tc.requeue {
				t.Errorf("RequeueAfter = %v, want %v", d.RequeueAfter, tc.requeue)
			}
			var reasons []string
			for _, e := range d.Events {
				reasons = append(reasons, e.Reason)
			}
			if strings.Join(reasons, ",") != strings.Join(tc.events, ",") {
				t.Errorf("events = %v, want %v", reasons, tc.events)
			}
			if !strings.Contains(d.Message, tc.msgHas) {
				t.Errorf("message %q does not contain %q", d.Message, tc.msgHas)
			}
			// Idempotent: feeding the decision back without a new analysis decides the same state.
			again := tc.in
			again.State, again.Analysis, again.Generation = d.State, nil, d.State.ObservedGeneration
			if d2 := Next(again); d2.State != d.State && !AnalysisDue(again) {
				t.Errorf("not idempotent: %+v then %+v", d.State, d2.State)
			}
		})
	}
}
