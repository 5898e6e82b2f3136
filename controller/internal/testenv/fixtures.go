package testenv

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/api/v1alpha1"
)

// Names of the objects a fixture creates in its namespace.
const (
	Route            = "shop"
	Stable           = "gateway"
	Canary           = "gateway-canary"
	CanaryDeployment = "gateway-canary"
	Port             = 8080
)

// Namespace creates a namespace.
func Namespace(ctx context.Context, c client.Client, name string) error {
	return c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
}

// HTTPRoute creates the shop route sending everything to the stable Service (no weight set, as the
// program writes it before a release).
func HTTPRoute(ctx context.Context, c client.Client, ns string) error {
	port := gatewayv1.PortNumber(Port)
	return c.Create(ctx, &gatewayv1.HTTPRoute{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: Route},
		Spec: gatewayv1.HTTPRouteSpec{
			CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "shop"}}},
			Rules: []gatewayv1.HTTPRouteRule{{BackendRefs: []gatewayv1.HTTPBackendRef{{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: Stable, Port: &port},
			}}}}},
		},
	})
}

// Deployment creates the canary Deployment and sets its status: ready or not. With no
// kube-controller-manager in the test API server, the status is whatever the test says.
func Deployment(ctx context.Context, c client.Client, ns string, ready bool) error {
	replicas := int32(2)
	labels := map[string]string{"app": "gateway", "track": "canary"}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: CanaryDeployment},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "gateway", Image: "shop/gateway:canary"}}},
			},
		},
	}
	if err := c.Create(ctx, d); err != nil {
		return err
	}
	return SetReady(ctx, c, d, ready)
}

// SetReady writes the Deployment's status: all pods ready, or none.
func SetReady(ctx context.Context, c client.Client, d *appsv1.Deployment, ready bool) error {
	n := int32(0)
	if ready {
		n = *d.Spec.Replicas
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: *d.Spec.Replicas,
		UpdatedReplicas: *d.Spec.Replicas, ReadyReplicas: n, AvailableReplicas: n}
	return c.Status().Update(ctx, d)
}

// Release returns a CanaryRelease for the fixture's route with one success-rate query.
func Release(ns, name string, steps []int32, interval time.Duration, failureLimit int32) *v1alpha1.CanaryRelease {
	return &v1alpha1.CanaryRelease{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.CanaryReleaseSpec{
			RouteRef:         v1alpha1.RouteRef{Name: Route},
			Stable:           v1alpha1.BackendRef{Name: Stable, Port: Port},
			Canary:           v1alpha1.BackendRef{Name: Canary, Port: Port},
			CanaryDeployment: CanaryDeployment,
			Steps:            steps,
			Interval:         metav1.Duration{Duration: interval},
			Analysis: v1alpha1.Analysis{
				FailureLimit: failureLimit,
				Queries: []v1alpha1.AnalysisQuery{{
					Name:      "success-rate",
					Query:     `sum(rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.CanaryDeployment}}-.*",code!~"5.."}[{{.Interval}}])) / sum(rate(http_requests_total{namespace="{{.Namespace}}",pod=~"{{.CanaryDeployment}}-.*"}[{{.Interval}}]))`,
					Threshold: "0.99",
					Direction: v1alpha1.DirectionMin,
				}},
			},
		},
	}
}

// Weights reads the route's stable and canary weights (the canary's is 0 when it has no backendRef).
func Weights(route *gatewayv1.HTTPRoute) (stable, canary int32) {
	for _, ref := range route.Spec.Rules[0].BackendRefs {
		w := int32(1)
		if ref.Weight != nil {
			w = *ref.Weight
		}
		switch string(ref.Name) {
		case Stable:
			stable = w
		case Canary:
			canary = w
		}
	}
	return stable, canary
}
