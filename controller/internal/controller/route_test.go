package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"shop/controller/internal/api/v1alpha1"
)

func TestSetWeights(t *testing.T) {
	spec := v1alpha1.CanaryReleaseSpec{Stable: v1alpha1.BackendRef{Name: "gateway", Port: 80}, Canary: v1alpha1.BackendRef{Name: "gateway-canary", Port: 8080}}
	w := func(v int32) *int32 { return &v }
	ref := func(name string, weight *int32) gatewayv1.HTTPBackendRef {
		return gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(name)}, Weight: weight}}
	}
	other := gatewayv1.Namespace("other")
	foreign := ref("gateway", nil)
	foreign.Namespace = &other
	route := func(rules ...[]gatewayv1.HTTPBackendRef) *gatewayv1.HTTPRoute {
		r := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "shop"}}
		for _, refs := range rules {
			r.Spec.Rules = append(r.Spec.Rules, gatewayv1.HTTPRouteRule{BackendRefs: refs})
		}
		return r
	}

	cases := []struct {
		name     string
		route    *gatewayv1.HTTPRoute
		canary   int32
		changed  bool
		want     [][]int32 // weights per rule, in backendRef order
		err      string
		addsPort bool
	}{
		{name: "a stable-only rule gets a canary backendRef with the spec's port", route: route([]gatewayv1.HTTPBackendRef{ref("gateway", nil)}), canary: 5, changed: true, want: [][]int32{{95, 5}}, addsPort: true},
		{name: "existing weights move", route: route([]gatewayv1.HTTPBackendRef{ref("gateway", w(95)), ref("gateway-canary", w(5))}), canary: 25, changed: true, want: [][]int32{{75, 25}}},
		{name: "the same weights change nothing", route: route([]gatewayv1.HTTPBackendRef{ref("gateway", w(75)), ref("gateway-canary", w(25))}), canary: 25, want: [][]int32{{75, 25}}},
		{name: "all-stable adds no canary backendRef", route: route([]gatewayv1.HTTPBackendRef{ref("gateway", nil)}), canary: 0, changed: true, want: [][]int32{{100}}},
		{name: "all-stable keeps the canary backendRef at 0", route: route([]gatewayv1.HTTPBackendRef{ref("gateway", w(50)), ref("gateway-canary", w(50))}), canary: 0, changed: true, want: [][]int32{{100, 0}}},
		{name: "rules without the stable Service are left alone", route: route([]gatewayv1.HTTPBackendRef{ref("gateway", nil)}, []gatewayv1.HTTPBackendRef{ref("static", w(3))}), canary: 50, changed: true, want: [][]int32{{50, 50}, {3}}},
		{name: "a backendRef to another namespace is not the stable Service", route: route([]gatewayv1.HTTPBackendRef{foreign}), canary: 50, err: `no rule with a backendRef to the stable Service "gateway"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			changed, err := setWeights(tc.route, spec, tc.canary)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if changed != tc.changed {
				t.Errorf("changed = %v, want %v", changed, tc.changed)
			}
			for i, rule := range tc.route.Spec.Rules {
				var got []int32
				for _, r := range rule.BackendRefs {
					got = append(got, weightOf(r))
				}
				if len(got) != len(tc.want[i]) {
					t.Fatalf("rule %d weights %v, want %v", i, got, tc.want[i])
				}
				for j := range got {
					if got[j] != tc.want[i][j] {
						t.Fatalf("rule %d weights %v, want %v", i, got, tc.want[i])
					}
				}
			}
			if tc.addsPort {
				added := tc.route.Spec.Rules[0].BackendRefs[1]
				if added.Port == nil || *added.Port != 8080 {
					t.Errorf("canary backendRef port = %v, want 8080 (spec.canary.port)", added.Port)
				}
			}
			if got := canaryShare(tc.route, spec); got != tc.canary {
				t.Errorf("canaryShare = %d, want %d", got, tc.canary)
			}
		})
	}
}
