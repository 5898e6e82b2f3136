package controller

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/api/v1alpha1"
)

// Cache indexes: which releases use a route, which use a canary Deployment.
const (
	indexRoute      = "spec.routeRef.name"
	indexDeployment = "spec.canaryDeployment"
)

// Setup registers the indexes and the controller with the manager. Releases are queued on their own
// changes and when their route or canary Deployment changes (found through the cache's indexes).
func (r *Reconciler) Setup(ctx context.Context, mgr ctrl.Manager, maxConcurrent int) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.CanaryRelease{}, indexRoute, func(o client.Object) []string {
		return []string{o.(*v1alpha1.CanaryRelease).Spec.RouteRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.CanaryRelease{}, indexDeployment, func(o client.Object) []string {
		return []string{o.(*v1alpha1.CanaryRelease).Spec.CanaryDeployment}
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.CanaryRelease{}).
		Watches(&gatewayv1.HTTPRoute{}, handler.EnqueueRequestsFromMapFunc(r.releasesUsing(indexRoute))).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.releasesUsing(indexDeployment))).
		WithOptions(controller.Options{MaxConcurrentReconciles: maxConcurrent}).
		Named("canaryrelease").
		Complete(r)
}

// releasesUsing maps a route or Deployment to the releases in its namespace that name it.
func (r *Reconciler) releasesUsing(index string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		var list v1alpha1.CanaryReleaseList
		if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{index: o.GetName()}); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for _, cr := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: cr.Namespace, Name: cr.Name}})
		}
		return reqs
	}
}
