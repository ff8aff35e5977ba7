package main

// HelmChart resources. k3s's helm-controller installs each HelmChart with a helm Job; neither it nor its
// klipper-helm image can be had here, and no chart repository is reachable. The stand-in registers the
// helm.cattle.io CRDs (bootstrap.go), so HelmCharts are validated and stored as on k3s, and says once that
// nothing installs them. Listed as a limit in docs/testing.md.

import (
	"context"

	"k8s.io/client-go/rest"
)

func runHelmController(ctx context.Context, config *rest.Config) {
	logf("HelmChart resources are validated and stored, not installed: the k3s stand-in has no helm-controller")
}
