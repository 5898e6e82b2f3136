// Package controller reconciles CanaryRelease objects: it moves an HTTPRoute's weights from the
// stable to the canary Service step by step while the Prometheus analysis passes.
package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/analysis"
	"shop/controller/internal/api/v1alpha1"
	"shop/controller/internal/rollout"
)

// Reconciler drives CanaryRelease objects. Every read goes through the manager's cache (Client);
// writes are patches guarded by resourceVersion and status updates retried on conflict.
type Reconciler struct {
	client.Client
	Recorder events.EventRecorder
	Querier  analysis.Querier
	Metrics  *Metrics
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// RBAC the controller needs, and no more (config/rbac/role.yaml is generated from these markers):
// releases are read through the cache and patched (finalizer), their status updated; routes are read
// through the cache and patched; Deployments only read; events created (events.k8s.io by the controller,
// core events by leader election); the leader Lease kept.
// +kubebuilder:rbac:groups=delivery.shop.dev,resources=canaryreleases,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=delivery.shop.dev,resources=canaryreleases/status,verbs=update
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=httproutes,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update

// Reconcile brings one release one step closer to what its spec and analysis say. It is idempotent:
// called again with nothing new observed it writes nothing.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	cr := &v1alpha1.CanaryRelease{}
	if err := r.Get(ctx, req.NamespacedName, cr); err != nil {
		if apierrors.IsNotFound(err) {
			r.Metrics.forget(req.NamespacedName)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	if !cr.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.finalize(ctx, cr)
	}
	if !controllerutil.ContainsFinalizer(cr, v1alpha1.Finalizer) {
		orig := cr.DeepCopy()
		controllerutil.AddFinalizer(cr, v1alpha1.Finalizer)
		if err := r.Patch(ctx, cr, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
		}
	}

	now := r.now().UTC().Truncate(time.Microsecond) // what a MicroTime in status keeps
	status := *cr.Status.DeepCopy()
	state := stateOf(cr)

	// A spec the API server accepted but that cannot run (a bad query template): no traffic.
	if err := analysis.Validate(cr); err != nil {
		return r.hold(ctx, cr, status, "InvalidSpec", err.Error())
	}

	route := &gatewayv1.HTTPRoute{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: cr.Namespace, Name: cr.Spec.RouteRef.Name}, route); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		// The route watch brings the release back when the route appears.
		meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionRouteReady, false, "RouteNotFound",
			fmt.Sprintf("HTTPRoute %q (spec.routeRef.name) does not exist in namespace %s", cr.Spec.RouteRef.Name, cr.Namespace)))
		status.Message = fmt.Sprintf("waiting for HTTPRoute %q (spec.routeRef.name)", cr.Spec.RouteRef.Name)
		return ctrl.Result{}, r.writeStatus(ctx, cr, status)
	}

	ready, readyMsg, err := r.canaryReady(ctx, cr)
	if err != nil {
		return ctrl.Result{}, err
	}
	in := rollout.Input{
		Generation: cr.Generation, Steps: cr.Spec.Steps, Interval: cr.Spec.Interval.Duration,
		FailureLimit: cr.Spec.Analysis.FailureLimit, CanaryReady: ready, Now: now, State: state,
	}
	var report *analysis.Report
	if rollout.AnalysisDue(in) {
		rep, err := analysis.Run(ctx, r.Querier, cr, now)
		if err != nil {
			r.Recorder.Eventf(cr, nil, corev1.EventTypeWarning, "AnalysisError", "Analyse", "%v", err)
			return ctrl.Result{}, err // the rate-limited queue retries with backoff; nothing moved
		}
		report = &rep
		in.Analysis = &rep.Verdict
		r.Metrics.analysed(req.NamespacedName, rep.Results)
	}
	d := rollout.Next(in)

	// Traffic first: an abort takes effect on the route before anything else is written.
	if changed, err := r.applyWeight(ctx, route, cr, d.State.Weight); err != nil {
		if errors.Is(err, errNoStableBackend) {
			meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionRouteReady, false, "StableBackendNotFound", err.Error()))
			status.Message = err.Error()
			return ctrl.Result{}, r.writeStatus(ctx, cr, status)
		}
		return ctrl.Result{}, err
	} else if changed {
		logger.Info("route weights set", "route", route.Name, "canaryWeight", d.State.Weight, "phase", d.State.Phase)
	}

	setState(&status, d.State)
	if d.Message != "" {
		status.Message = d.Message
	}
	if report != nil {
		status.LastAnalysis = report.Results
		if report.Verdict.Passed {
			meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionAnalysisPassing, true, "Passed", "every query passed"))
		} else {
			meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionAnalysisPassing, false, "Failed", d.Message))
		}
	}
	if state.ObservedGeneration != cr.Generation { // restarted: the old spec's results are stale
		if report == nil {
			status.LastAnalysis = nil
		}
		meta.RemoveStatusCondition(&status.Conditions, v1alpha1.ConditionAnalysisPassing)
	}
	if ready {
		meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionCanaryReady, true, "PodsReady", readyMsg))
	} else {
		meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionCanaryReady, false, "PodsNotReady", readyMsg))
	}
	meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionRouteReady, true, "WeightsSet",
		fmt.Sprintf("HTTPRoute %s sends %d%% to %s and %d%% to %s", route.Name, d.State.Weight, cr.Spec.Canary.Name,
			100-d.State.Weight, cr.Spec.Stable.Name)))
	if err := r.writeStatus(ctx, cr, status); err != nil {
		if errors.Is(err, errStatusMoved) {
			// The newer status reached the cache, so its update event has queued this release again:
			// it is recomputed from there. Nothing to retry here.
			logger.V(1).Info("status moved while reconciling; recomputing")
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	for _, e := range d.Events {
		kind := corev1.EventTypeNormal
		if e.Warning {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(cr, route, kind, e.Reason, "Rollout", "%s", e.Message)
	}
	r.Metrics.observe(req.NamespacedName, d.State.Phase, d.State.Weight)
	return ctrl.Result{RequeueAfter: d.RequeueAfter}, nil
}

func (r *Reconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// hold keeps the canary out of traffic and says why (a spec that cannot run).
func (r *Reconciler) hold(ctx context.Context, cr *v1alpha1.CanaryRelease, status v1alpha1.CanaryReleaseStatus, reason, msg string) (ctrl.Result, error) {
	route := &gatewayv1.HTTPRoute{}
	err := r.Get(ctx, types.NamespacedName{Namespace: cr.Namespace, Name: cr.Spec.RouteRef.Name}, route)
	if err == nil {
		if _, err := r.applyWeight(ctx, route, cr, 0); err != nil && !errors.Is(err, errNoStableBackend) {
			return ctrl.Result{}, err
		}
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	status.Phase, status.Weight, status.StepStartedAt = v1alpha1.PhaseWaiting, 0, nil
	status.ObservedGeneration = cr.Generation
	status.Message = msg
	meta.SetStatusCondition(&status.Conditions, condition(cr, v1alpha1.ConditionAnalysisPassing, false, reason, msg))
	if err := r.writeStatus(ctx, cr, status); err != nil {
		return ctrl.Result{}, err
	}
	if cr.Status.Message != msg {
		r.Recorder.Eventf(cr, nil, corev1.EventTypeWarning, reason, "Validate", "%s", msg)
	}
	r.Metrics.observe(client.ObjectKeyFromObject(cr), v1alpha1.PhaseWaiting, 0)
	return ctrl.Result{}, nil
}

// finalize restores the route to all-stable and lets the release go.
func (r *Reconciler) finalize(ctx context.Context, cr *v1alpha1.CanaryRelease) error {
	if !controllerutil.ContainsFinalizer(cr, v1alpha1.Finalizer) {
		return nil
	}
	route := &gatewayv1.HTTPRoute{}
	err := r.Get(ctx, types.NamespacedName{Namespace: cr.Namespace, Name: cr.Spec.RouteRef.Name}, route)
	switch {
	case apierrors.IsNotFound(err): // nothing to restore
	case err != nil:
		return err
	default:
		if _, err := r.applyWeight(ctx, route, cr, 0); err != nil && !errors.Is(err, errNoStableBackend) {
			return fmt.Errorf("restoring all-stable: %w", err)
		}
		r.Recorder.Eventf(cr, route, corev1.EventTypeNormal, "Restored", "Finalize",
			"release deleted: HTTPRoute %s sends all traffic to %s", route.Name, cr.Spec.Stable.Name)
	}
	orig := cr.DeepCopy()
	controllerutil.RemoveFinalizer(cr, v1alpha1.Finalizer)
	if err := r.Patch(ctx, cr, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("removing finalizer: %w", err)
	}
	r.Metrics.forget(client.ObjectKeyFromObject(cr))
	return nil
}

var errNoStableBackend = errors.New("no stable backend")

// applyWeight patches the route when its weights differ; the patch carries the cached
// resourceVersion, so a stale cache gives a conflict (and a retry) instead of a lost write.
func (r *Reconciler) applyWeight(ctx context.Context, route *gatewayv1.HTTPRoute, cr *v1alpha1.CanaryRelease, weight int32) (bool, error) {
	orig := route.DeepCopy()
	changed, err := setWeights(route, cr.Spec, weight)
	if err != nil {
		return false, fmt.Errorf("%w: %v", errNoStableBackend, err)
	}
	if !changed {
		return false, nil
	}
	if err := r.Patch(ctx, route, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
		return false, fmt.Errorf("setting HTTPRoute %s weights: %w", route.Name, err)
	}
	return true, nil
}

// canaryReady reports whether the canary Deployment has rolled out (rolledOut): until then its weight
// stays 0 and no step starts.
func (r *Reconciler) canaryReady(ctx context.Context, cr *v1alpha1.CanaryRelease) (bool, string, error) {
	d := &appsv1.Deployment{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: cr.Namespace, Name: cr.Spec.CanaryDeployment}, d); err != nil {
		if apierrors.IsNotFound(err) {
			return false, fmt.Sprintf("Deployment %q (spec.canaryDeployment) does not exist", cr.Spec.CanaryDeployment), nil
		}
		return false, "", err
	}
	ok, msg := rolledOut(d)
	return ok, msg, nil
}

// errStatusMoved: another reconcile wrote a newer status since this one read the release.
var errStatusMoved = errors.New("the release's status changed while it was reconciled; recomputing from the new one")

// writeStatus stores status through the status subresource. On a conflict it re-reads the release
// (from the cache) and retries, as long as only other fields moved: if the status itself or the spec
// changed meanwhile, the status computed here is stale, and the release is reconciled again instead.
func (r *Reconciler) writeStatus(ctx context.Context, cr *v1alpha1.CanaryRelease, status v1alpha1.CanaryReleaseStatus) error {
	cur := cr
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if equality.Semantic.DeepEqual(cur.Status, status) {
			return nil
		}
		next := cur.DeepCopy()
		next.Status = status
		err := r.Status().Update(ctx, next)
		if apierrors.IsConflict(err) {
			fresh := &v1alpha1.CanaryRelease{}
			if gerr := r.Get(ctx, client.ObjectKeyFromObject(cr), fresh); gerr != nil {
				return gerr
			}
			if fresh.Generation != cr.Generation || !equality.Semantic.DeepEqual(fresh.Status, cr.Status) {
				return errStatusMoved
			}
			cur = fresh
		}
		return err
	})
	return client.IgnoreNotFound(err)
}

func stateOf(cr *v1alpha1.CanaryRelease) rollout.State {
	s := cr.Status
	st := rollout.State{Phase: s.Phase, Step: s.CurrentStep, Weight: s.Weight, FailedChecks: s.FailedChecks,
		ObservedGeneration: s.ObservedGeneration}
	if st.Phase == "" {
		st.Phase = v1alpha1.PhaseWaiting
	}
	if s.StepStartedAt != nil {
		st.StepStartedAt = s.StepStartedAt.Time
	}
	return st
}

func setState(status *v1alpha1.CanaryReleaseStatus, s rollout.State) {
	status.Phase, status.CurrentStep, status.Weight, status.FailedChecks = s.Phase, s.Step, s.Weight, s.FailedChecks
	status.ObservedGeneration = s.ObservedGeneration
	status.StepStartedAt = nil
	if !s.StepStartedAt.IsZero() {
		t := metav1.NewMicroTime(s.StepStartedAt)
		status.StepStartedAt = &t
	}
}

func condition(cr *v1alpha1.CanaryRelease, kind string, ok bool, reason, msg string) metav1.Condition {
	st := metav1.ConditionFalse
	if ok {
		st = metav1.ConditionTrue
	}
	return metav1.Condition{Type: kind, Status: st, Reason: reason, Message: msg, ObservedGeneration: cr.Generation}
}
