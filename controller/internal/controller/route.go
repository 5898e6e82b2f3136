package controller

import (
	"fmt"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/api/v1alpha1"
)

// isService reports whether a backendRef points at the named core Service in the route's namespace.
func isService(ref gatewayv1.BackendObjectReference, name, namespace string) bool {
	if ref.Group != nil && *ref.Group != "" {
		return false
	}
	if ref.Kind != nil && *ref.Kind != "Service" {
		return false
	}
	if ref.Namespace != nil && string(*ref.Namespace) != namespace {
		return false
	}
	return string(ref.Name) == name
}

func weightOf(ref gatewayv1.HTTPBackendRef) int32 {
	if ref.Weight == nil {
		return 1 // the Gateway API's default weight
	}
	return *ref.Weight
}

// setWeights gives the canary `canary` percent and the stable Service the rest in every rule of the
// route that sends traffic to the stable Service. A rule without a canary backendRef gets one (port
// from the spec) only when the canary gets traffic, so restoring all-stable adds nothing. Other rules
// and other backends are left alone. It reports whether the route changed, and fails when no rule
// names the stable Service.
func setWeights(route *gatewayv1.HTTPRoute, spec v1alpha1.CanaryReleaseSpec, canary int32) (bool, error) {
	ns := route.Namespace
	changed, found := false, false
	set := func(ref *gatewayv1.HTTPBackendRef, w int32) {
		if ref.Weight == nil || *ref.Weight != w {
			ref.Weight = &w
			changed = true
		}
	}
	for i := range route.Spec.Rules {
		rule := &route.Spec.Rules[i]
		stable, canaryIdx := -1, -1
		for j, ref := range rule.BackendRefs {
			switch {
			case stable < 0 && isService(ref.BackendObjectReference, spec.Stable.Name, ns):
				stable = j
			case canaryIdx < 0 && isService(ref.BackendObjectReference, spec.Canary.Name, ns):
				canaryIdx = j
			}
		}
		if stable < 0 {
			continue
		}
		found = true
		set(&rule.BackendRefs[stable], 100-canary)
		switch {
		case canaryIdx >= 0:
			set(&rule.BackendRefs[canaryIdx], canary)
		case canary > 0:
			port := gatewayv1.PortNumber(spec.Canary.Port)
			w := canary
			rule.BackendRefs = append(rule.BackendRefs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
				BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(spec.Canary.Name), Port: &port},
				Weight:                 &w,
			}})
			changed = true
		}
	}
	if !found {
		return false, fmt.Errorf("HTTPRoute %s/%s has no rule with a backendRef to the stable Service %q (spec.stable.name)",
			ns, route.Name, spec.Stable.Name)
	}
	return changed, nil
}

// canaryShare reads the canary's share in percent from the first rule that names the stable Service
// (-1 when there is none); the metrics and tests use it to report what the route really carries.
func canaryShare(route *gatewayv1.HTTPRoute, spec v1alpha1.CanaryReleaseSpec) int32 {
	for _, rule := range route.Spec.Rules {
		var stable, canary int32
		hasStable := false
		for _, ref := range rule.BackendRefs {
			switch {
			case isService(ref.BackendObjectReference, spec.Stable.Name, route.Namespace):
				stable, hasStable = weightOf(ref), true
			case isService(ref.BackendObjectReference, spec.Canary.Name, route.Namespace):
				canary = weightOf(ref)
			}
		}
		if hasStable {
			if stable+canary == 0 {
				return 0
			}
			return canary * 100 / (stable + canary)
		}
	}
	return -1
}
