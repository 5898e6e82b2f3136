package controller

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRolledOut(t *testing.T) {
	deployment := func(replicas int32, generation int64, s appsv1.DeploymentStatus) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "gateway-canary", Generation: generation},
			Spec:       appsv1.DeploymentSpec{Replicas: &replicas},
			Status:     s,
		}
	}
	done := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
	deleting := deployment(1, 2, done)
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}

	cases := []struct {
		name string
		d    *appsv1.Deployment
		want bool
		msg  string
	}{
		{name: "every pod updated and available", d: deployment(1, 2, done), want: true, msg: "1/1 pods ready and updated"},
		{name: "a new template not yet seen by the Deployment controller", d: deployment(1, 3, done), msg: "has not seen generation 3"},
		{
			name: "the new pod created, the old one still ready (the middle of a rollout)",
			d:    deployment(1, 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}),
			msg:  "old pods still running",
		},
		{
			name: "one of two pods updated",
			d:    deployment(2, 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 3, UpdatedReplicas: 1, ReadyReplicas: 2, AvailableReplicas: 2}),
			msg:  "rolling out: 1/2 pods updated",
		},
		{
			name: "the old pods gone, the new one not available yet",
			d:    deployment(1, 2, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1}),
			msg:  "updated pods not available yet",
		},
		{name: "scaled to zero", d: deployment(0, 2, appsv1.DeploymentStatus{ObservedGeneration: 2}), msg: "wants 0 pods"},
		{name: "being deleted", d: deleting, msg: "being deleted"},
		{
			name: "no replicas field means one pod",
			d:    &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "c", Generation: 1}, Status: appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}},
			want: true, msg: "1/1 pods",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, msg := rolledOut(c.d)
			if got != c.want || !strings.Contains(msg, c.msg) {
				t.Errorf("rolledOut = %v, %q; want %v and a message with %q", got, msg, c.want, c.msg)
			}
		})
	}
}
