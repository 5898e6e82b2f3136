// Package rollout holds the canary's step and abort rules as a pure function: no clock, no API
// server, no Prometheus. The reconciler feeds it what it observed and writes back what it decides.
package rollout

import (
	"fmt"
	"time"

	"shop/controller/internal/api/v1alpha1"
)

// State is the part of a release's status the rules read and write.
type State struct {
	Phase              v1alpha1.Phase
	Step               int32 // index into Steps
	Weight             int32 // canary weight in percent
	FailedChecks       int32
	StepStartedAt      time.Time // zero while no step runs
	ObservedGeneration int64
}

// Verdict is the outcome of one analysis: Passed, or the first failing query with its value.
type Verdict struct {
	Passed bool
	// Query, Value and Threshold describe the first failing query (set when !Passed).
	Query, Value, Threshold string
	Direction               v1alpha1.Direction
	Reason                  string // why it failed, e.g. "0.82 < 0.99" or "no data"
}

// Input is one observation of a release.
type Input struct {
	Generation   int64
	Steps        []int32
	Interval     time.Duration
	FailureLimit int32
	CanaryReady  bool
	Now          time.Time
	State        State
	// Analysis is the verdict of the analysis run for this observation; nil when none ran.
	// The reconciler runs one exactly when AnalysisDue says so.
	Analysis *Verdict
}

// Event is something worth recording on the release.
type Event struct {
	Warning bool
	Reason  string // StepStarted, AnalysisFailed, Promoted, Aborted, Waiting, Restarted
	Message string
}

// Decision is the new state and when to look again.
type Decision struct {
	State State
	// Message explains the phase for status.message.
	Message string
	// RequeueAfter is when the next step or analysis is due; 0 means wait for a watch event.
	RequeueAfter time.Duration
	Events       []Event
}

// restarted reports whether the spec changed since the state was computed.
func restarted(in Input) bool { return in.State.ObservedGeneration != in.Generation }

// AnalysisDue reports whether an analysis must run before Next is called: the current step has
// carried its weight for a whole interval, the canary is ready and the spec has not changed.
func AnalysisDue(in Input) bool {
	s := in.State
	return !restarted(in) && in.CanaryReady && s.Phase == v1alpha1.PhaseProgressing &&
		!s.StepStartedAt.IsZero() && !in.Now.Before(s.StepStartedAt.Add(in.Interval))
}

// Next applies the rules to one observation. It is deterministic and idempotent: called again
// with its own output as State (and no new analysis), it decides the same thing.
func Next(in Input) Decision {
	s := in.State
	var events []Event
	if restarted(in) {
		if s.ObservedGeneration != 0 {
			events = append(events, Event{Reason: "Restarted", Message: fmt.Sprintf(
				"spec changed (generation %d): the analysis restarts at step 1", in.Generation)})
		}
		s = State{Phase: v1alpha1.PhaseWaiting, ObservedGeneration: in.Generation}
		in.Analysis = nil // an analysis of the old spec does not count
	}
	if len(in.Steps) == 0 { // the CRD forbids it; keep the canary out of traffic if it happens anyway
		s.Phase, s.Weight, s.StepStartedAt = v1alpha1.PhaseWaiting, 0, time.Time{}
		return Decision{State: s, Message: "spec.steps is empty: the canary gets no traffic", Events: events}
	}
	last := int32(len(in.Steps) - 1)
	if s.Step > last || s.Step < 0 { // steps shrank without a generation change cannot happen; clamp anyway
		s.Step = last
	}

	switch s.Phase {
	case v1alpha1.PhaseAborted:
		s.Weight, s.StepStartedAt = 0, time.Time{}
		return Decision{State: s, Message: abortMessage(in, s), Events: events}
	case v1alpha1.PhasePromoted:
		if !in.CanaryReady {
			s.Weight = 0
			return Decision{State: s, Events: events,
				Message: "promoted, but the canary's pods are not ready: it gets no traffic until they are"}
		}
		s.Weight = in.Steps[last]
		return Decision{State: s, Events: events,
			Message: fmt.Sprintf("promoted: all %d steps passed; the canary carries %d%%", len(in.Steps), s.Weight)}
	}

	// Waiting or Progressing.
	if !in.CanaryReady {
		if s.Phase != v1alpha1.PhaseWaiting || s.Weight != 0 {
			events = append(events, Event{Warning: true, Reason: "Waiting",
				Message: "the canary's pods are not ready: its weight is 0 until they are"})
		}
		s.Phase, s.Weight, s.StepStartedAt = v1alpha1.PhaseWaiting, 0, time.Time{}
		return Decision{State: s, Events: events,
			Message: fmt.Sprintf("waiting for the canary's pods to be ready before step %d (%d%%)", s.Step+1, in.Steps[s.Step])}
	}
	if s.Phase == v1alpha1.PhaseWaiting || s.StepStartedAt.IsZero() {
		s = startStep(s, in, s.Step)
		events = append(events, stepEvent(in, s))
		return Decision{State: s, RequeueAfter: in.Interval, Events: events, Message: progressMessage(in, s)}
	}

	// Progressing with its weight set.
	s.Weight = in.Steps[s.Step]
	due := s.StepStartedAt.Add(in.Interval)
	if in.Now.Before(due) || in.Analysis == nil {
		wait := due.Sub(in.Now)
		if wait <= 0 { // due but no analysis given: ask to be called again right away
			wait = time.Millisecond
		}
		return Decision{State: s, RequeueAfter: wait, Events: events, Message: progressMessage(in, s)}
	}
	v := *in.Analysis
	if !v.Passed {
		s.FailedChecks++
		if s.FailedChecks > in.FailureLimit {
			s.Phase, s.Weight, s.StepStartedAt = v1alpha1.PhaseAborted, 0, time.Time{}
			msg := abortMessage(in, s, v)
			return Decision{State: s, Message: msg,
				Events: append(events, Event{Warning: true, Reason: "Aborted", Message: msg})}
		}
		// Stay on this step and check again one interval later.
		s.StepStartedAt = in.Now
		msg := fmt.Sprintf("check %d of %d allowed failed at step %d (%d%%): %s", s.FailedChecks, in.FailureLimit,
			s.Step+1, s.Weight, failure(v))
		return Decision{State: s, RequeueAfter: in.Interval, Message: msg,
			Events: append(events, Event{Warning: true, Reason: "AnalysisFailed", Message: msg})}
	}
	if s.Step == last {
		s.Phase, s.StepStartedAt = v1alpha1.PhasePromoted, time.Time{}
		msg := fmt.Sprintf("promoted: all %d steps passed; the canary carries %d%%", len(in.Steps), s.Weight)
		return Decision{State: s, Message: msg, Events: append(events, Event{Reason: "Promoted", Message: msg})}
	}
	s = startStep(s, in, s.Step+1)
	return Decision{State: s, RequeueAfter: in.Interval, Events: append(events, stepEvent(in, s)), Message: progressMessage(in, s)}
}

func startStep(s State, in Input, step int32) State {
	s.Phase, s.Step, s.Weight, s.StepStartedAt = v1alpha1.PhaseProgressing, step, in.Steps[step], in.Now
	return s
}

func stepEvent(in Input, s State) Event {
	return Event{Reason: "StepStarted", Message: fmt.Sprintf("step %d of %d: the canary gets %d%%", s.Step+1, len(in.Steps), s.Weight)}
}

func progressMessage(in Input, s State) string {
	return fmt.Sprintf("step %d of %d: the canary gets %d%%; analysis at %s", s.Step+1, len(in.Steps), s.Weight,
		s.StepStartedAt.Add(in.Interval).UTC().Format(time.RFC3339))
}

// failure describes a failing query: its name, value and threshold.
func failure(v Verdict) string {
	op := ">="
	if v.Direction == v1alpha1.DirectionMax {
		op = "<="
	}
	value := v.Value
	if value == "" {
		value = "none"
	}
	s := fmt.Sprintf("query %q returned %s, threshold %s %s", v.Query, value, op, v.Threshold)
	if v.Reason != "" {
		s += " (" + v.Reason + ")"
	}
	return s
}

// abortMessage keeps the message of an abort: the failing query when this decision aborted, else the
// message already recorded is kept by the caller (an empty verdict gives a generic one).
func abortMessage(in Input, s State, v ...Verdict) string {
	if len(v) == 0 {
		return ""
	}
	return fmt.Sprintf("aborted after %d failed checks (limit %d) at step %d: %s; the canary's weight is 0",
		s.FailedChecks, in.FailureLimit, s.Step+1, failure(v[0]))
}
