package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Phase is where a release stands.
// +kubebuilder:validation:Enum=Waiting;Progressing;Promoted;Aborted
type Phase string

const (
	// PhaseWaiting: the canary gets no traffic yet (its pods are not ready, or the route is missing).
	PhaseWaiting Phase = "Waiting"
	// PhaseProgressing: the canary gets the current step's weight and is analysed every interval.
	PhaseProgressing Phase = "Progressing"
	// PhasePromoted: every step passed; the canary keeps the last step's weight.
	PhasePromoted Phase = "Promoted"
	// PhaseAborted: checks failed past the limit; the canary's weight is 0 until the spec changes.
	PhaseAborted Phase = "Aborted"
)

// Direction says on which side of the threshold a query's value passes.
// +kubebuilder:validation:Enum=Min;Max
type Direction string

const (
	// DirectionMin: the value passes when it is at least the threshold (e.g. a success rate).
	DirectionMin Direction = "Min"
	// DirectionMax: the value passes when it is at most the threshold (e.g. a p99 latency).
	DirectionMax Direction = "Max"
)

// Condition types set on a CanaryRelease.
const (
	// ConditionCanaryReady is True while the canary Deployment has rolled out: every pod it wants runs
	// the current template and is available, and no pod of an older template is left.
	ConditionCanaryReady = "CanaryReady"
	// ConditionAnalysisPassing is True while the last analysis passed.
	ConditionAnalysisPassing = "AnalysisPassing"
	// ConditionRouteReady is True once the route carries the weight in status.weight.
	ConditionRouteReady = "RouteReady"
)

// Finalizer restores the route to all-stable before a CanaryRelease goes away.
const Finalizer = "delivery.shop.dev/restore-stable"

// RouteRef names the HTTPRoute (gateway.networking.k8s.io) in the release's namespace whose weights move.
type RouteRef struct {
	// Name of the HTTPRoute.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// BackendRef names a Service backend of the route.
type BackendRef struct {
	// Name of the Service in the release's namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Port of the Service; the backendRef the controller adds for the canary uses it.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port"`
}

// AnalysisQuery is one Prometheus check run at the end of every interval.
type AnalysisQuery struct {
	// Name of the check, shown in status and events (e.g. success-rate).
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Query is PromQL returning one number, written as a Go text/template with the fields
	// .Namespace, .Name (the release), .Canary and .Stable (Service names), .CanaryDeployment and
	// .Interval (the interval as a PromQL duration, e.g. 30s).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Query string `json:"query"`
	// Threshold the value is compared with, a decimal number (e.g. "0.99" or "0.25").
	// +kubebuilder:validation:Pattern=`^-?[0-9]+(\.[0-9]+)?$`
	Threshold string `json:"threshold"`
	// Direction: Min passes values >= threshold, Max passes values <= threshold.
	Direction Direction `json:"direction"`
}

// Analysis is what decides whether a step passes.
type Analysis struct {
	// Queries run at the end of every interval; a check fails when any query fails, returns no
	// number, or returns more than one series.
	// +kubebuilder:validation:MaxItems=10
	// +listType=map
	// +listMapKey=name
	// +optional
	Queries []AnalysisQuery `json:"queries,omitempty"`
	// FailureLimit is how many failed checks the release tolerates: the next failed check aborts it.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=1
	// +optional
	FailureLimit int32 `json:"failureLimit"`
}

// CanaryReleaseSpec is the desired progressive rollout.
// +kubebuilder:validation:XValidation:rule="self.stable.name != self.canary.name",message="stable.name and canary.name must name different Services"
type CanaryReleaseSpec struct {
	// RouteRef is the HTTPRoute whose backendRefs carry the stable and canary weights.
	RouteRef RouteRef `json:"routeRef"`
	// Stable is the Service that keeps the traffic the canary does not get.
	Stable BackendRef `json:"stable"`
	// Canary is the Service of the new version.
	Canary BackendRef `json:"canary"`
	// CanaryDeployment is the Deployment behind the canary Service: while its pods are not all
	// ready the canary gets no traffic.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	CanaryDeployment string `json:"canaryDeployment"`
	// Steps are the canary's weights in percent, strictly ascending, each 1..100 (e.g. [5, 25, 50, 100]).
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=100
	// +kubebuilder:validation:XValidation:rule="self.all(x, self.exists_one(y, y == x)) && self.isSorted()",message="steps must be strictly ascending (e.g. [5, 25, 50, 100])"
	// +listType=atomic
	Steps []int32 `json:"steps"`
	// Interval each step runs before its analysis (a Go duration, at least 1s; e.g. 1m).
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s')",message="interval must be at least 1s"
	Interval metav1.Duration `json:"interval"`
	// Analysis holds the Prometheus checks and the failure limit.
	// +optional
	Analysis Analysis `json:"analysis,omitempty"`
}

// QueryResult is the outcome of one query of the last analysis.
type QueryResult struct {
	// Name of the query.
	Name string `json:"name"`
	// Value the query returned (empty when it returned none).
	// +optional
	Value string `json:"value,omitempty"`
	// Threshold and Direction copied from the spec.
	Threshold string    `json:"threshold"`
	Direction Direction `json:"direction"`
	// Passed is true when the value is on the right side of the threshold.
	Passed bool `json:"passed"`
	// Error says why a query has no value (no data, several series).
	// +optional
	Error string `json:"error,omitempty"`
}

// CanaryReleaseStatus is what the controller observed and did.
type CanaryReleaseStatus struct {
	// Phase of the release.
	// +optional
	Phase Phase `json:"phase,omitempty"`
	// CurrentStep is the index in spec.steps of the step running (or the last one, once Promoted).
	// +optional
	CurrentStep int32 `json:"currentStep"`
	// Weight is the canary's share of the route, in percent, as last written to the route.
	// +optional
	Weight int32 `json:"weight"`
	// FailedChecks counts the failed analyses since the spec last changed.
	// +optional
	FailedChecks int32 `json:"failedChecks"`
	// ObservedGeneration is the spec generation this status is for; a newer spec restarts the analysis.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// StepStartedAt is when the current step's weight was set; its analysis runs one interval later.
	// +optional
	StepStartedAt *metav1.MicroTime `json:"stepStartedAt,omitempty"`
	// LastAnalysis holds every query's result of the last analysis.
	// +optional
	// +listType=atomic
	LastAnalysis []QueryResult `json:"lastAnalysis,omitempty"`
	// Message explains the phase; when Aborted it names the failing query, its value and the threshold.
	// +optional
	Message string `json:"message,omitempty"`
	// Conditions: CanaryReady, AnalysisPassing, RouteReady.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CanaryRelease shifts an HTTPRoute's traffic from a stable to a canary Service step by step while
// Prometheus checks pass, and back to stable at once when they fail.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=canary;canaries,categories=shop
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.weight`
// +kubebuilder:printcolumn:name="Step",type=integer,JSONPath=`.status.currentStep`
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.failedChecks`
// +kubebuilder:printcolumn:name="Route",type=string,JSONPath=`.spec.routeRef.name`,priority=1
// +kubebuilder:printcolumn:name="Message",type=string,JSONPath=`.status.message`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CanaryRelease struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CanaryReleaseSpec   `json:"spec"`
	Status CanaryReleaseStatus `json:"status,omitempty"`
}

// CanaryReleaseList is a list of CanaryRelease.
//
// +kubebuilder:object:root=true
type CanaryReleaseList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CanaryRelease `json:"items"`
}
