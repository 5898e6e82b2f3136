package controller

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
)

// rolledOut reports whether a Deployment has finished rolling out, by the rules of `kubectl rollout
// status`: its controller has seen the current spec, every pod it wants runs the current template,
// no pod of an older template is left, and every updated pod is available. Counting ready pods alone
// is not enough: in the middle of a rollout the old pods are still ready while the new ones start, and
// the canary's traffic (and its analysis) would then go to the previous version.
func rolledOut(d *appsv1.Deployment) (bool, string) {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	counts := fmt.Sprintf("%d/%d pods updated, %d available, %d in all", s.UpdatedReplicas, want, s.AvailableReplicas, s.Replicas)
	switch {
	case !d.DeletionTimestamp.IsZero():
		return false, fmt.Sprintf("Deployment %s is being deleted", d.Name)
	case want == 0:
		return false, fmt.Sprintf("Deployment %s wants 0 pods", d.Name)
	case s.ObservedGeneration < d.Generation:
		return false, fmt.Sprintf("Deployment %s: its controller has not seen generation %d yet", d.Name, d.Generation)
	case s.UpdatedReplicas < want:
		return false, fmt.Sprintf("Deployment %s rolling out: %s", d.Name, counts)
	case s.Replicas > s.UpdatedReplicas:
		return false, fmt.Sprintf("Deployment %s rolling out, old pods still running: %s", d.Name, counts)
	case s.AvailableReplicas < s.UpdatedReplicas:
		return false, fmt.Sprintf("Deployment %s rolling out, updated pods not available yet: %s", d.Name, counts)
	}
	return true, fmt.Sprintf("Deployment %s: %d/%d pods ready and updated", d.Name, s.AvailableReplicas, want)
}
