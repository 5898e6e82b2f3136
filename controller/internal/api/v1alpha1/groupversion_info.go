// Package v1alpha1 holds the CanaryRelease API of the delivery.shop.dev group.
//
// +kubebuilder:object:generate=true
// +groupName=delivery.shop.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of CanaryRelease.
	GroupVersion = schema.GroupVersion{Group: "delivery.shop.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the types of this package with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the types of this group-version to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	SchemeBuilder.Register(&CanaryRelease{}, &CanaryReleaseList{})
}
