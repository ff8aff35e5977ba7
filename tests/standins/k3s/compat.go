package main

// The compatibility version of the control plane when the stand-in is built for an older Kubernetes minor than the
// one linked in.
//
// The stand-in reports the k3s release it is built for (build.py sets k8s.io/component-base/version at link time),
// so that nodes show the release's kubelet version and the roles' one-node-at-a-time upgrade checks can be tested.
// kube-apiserver, kube-controller-manager and kube-scheduler take their binary version from that same string and
// default their minimum compatibility version to one minor below it, which the v1.35 code refuses below v1.31: a
// v1.35.4 control plane built as v1.31.5+k3s1 stops with "minCompatibilityVersion version 1.30 is not between
// [1.31, 1.31]". For such a release the three components get the release's own minor as their minimum
// compatibility version, which is what `--min-compatibility-version=1.31` would set: they then run as the
// release's minor (its APIs and feature-gate defaults, Kubernetes' compatibility-version mechanism). Nothing
// changes when the release's minor is the one linked in.

import (
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/util/compatibility"
	basecompatibility "k8s.io/component-base/compatibility"
)

var versionCheckedComponents = map[string]bool{
	"kube-apiserver":          true,
	"kube-controller-manager": true,
	"kube-scheduler":          true,
}

// setReleaseCompatibility: in the process of component NAME, the release's minor as the minimum compatibility version.
func setReleaseCompatibility(name string) {
	if !versionCheckedComponents[name] {
		return
	}
	effective, ok := compatibility.DefaultComponentGlobalsRegistry.EffectiveVersionFor(basecompatibility.DefaultKubeComponent).(basecompatibility.MutableEffectiveVersion)
	if !ok {
		return
	}
	built, err := version.ParseGeneric(builtKubernetes)
	if err != nil {
		return
	}
	binary := effective.BinaryVersion()
	if binary.Major() == built.Major() && binary.Minor() >= built.Minor() {
		return
	}
	effective.SetMinCompatibilityVersion(version.MajorMinor(binary.Major(), binary.Minor()))
}
