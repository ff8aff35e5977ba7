package main

// What the server puts in the cluster before anything else: the helm.cattle.io CRDs that k3s registers
// (HelmChart, HelmChartConfig; our own schema of the fields k3s documents) and the built-in manifests.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

const helmCRDs = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: helmcharts.helm.cattle.io
spec:
  group: helm.cattle.io
  names:
    kind: HelmChart
    listKind: HelmChartList
    plural: helmcharts
    singular: helmchart
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      subresources:
        status: {}
      additionalPrinterColumns:
        - {name: Job, type: string, jsonPath: .status.jobName}
        - {name: Chart, type: string, jsonPath: .spec.chart}
        - {name: TargetNamespace, type: string, jsonPath: .spec.targetNamespace}
        - {name: Version, type: string, jsonPath: .spec.version}
        - {name: Repo, type: string, jsonPath: .spec.repo}
        - {name: HelmVersion, type: string, jsonPath: .spec.helmVersion}
        - {name: Bootstrap, type: string, jsonPath: .spec.bootstrap}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                targetNamespace: {type: string}
                createNamespace: {type: boolean}
                chart: {type: string}
                version: {type: string}
                repo: {type: string}
                repoCA: {type: string}
                repoCAConfigMap:
                  type: object
                  properties:
                    name: {type: string}
                helmVersion: {type: string}
                bootstrap: {type: boolean}
                chartContent: {type: string}
                jobImage: {type: string}
                backOffLimit: {type: integer, format: int32}
                timeout: {type: string}
                failurePolicy: {type: string}
                authSecret:
                  type: object
                  properties:
                    name: {type: string}
                authPassCredentials: {type: boolean}
                insecureSkipTLSVerify: {type: boolean}
                plainHTTP: {type: boolean}
                dockerRegistrySecret:
                  type: object
                  properties:
                    name: {type: string}
                set:
                  type: object
                  additionalProperties:
                    x-kubernetes-int-or-string: true
                valuesContent: {type: string}
                valuesSecrets:
                  type: array
                  items:
                    type: object
                    properties:
                      name: {type: string}
                      keys:
                        type: array
                        items: {type: string}
                      ignoreUpdates: {type: boolean}
                podSecurityContext:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                securityContext:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
            status:
              type: object
              properties:
                jobName: {type: string}
                conditions:
                  type: array
                  items:
                    type: object
                    properties:
                      type: {type: string}
                      status: {type: string}
                      reason: {type: string}
                      message: {type: string}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: helmchartconfigs.helm.cattle.io
spec:
  group: helm.cattle.io
  names:
    kind: HelmChartConfig
    listKind: HelmChartConfigList
    plural: helmchartconfigs
    singular: helmchartconfig
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                valuesContent: {type: string}
                failurePolicy: {type: string}
                valuesSecrets:
                  type: array
                  items:
                    type: object
                    x-kubernetes-preserve-unknown-fields: true
`

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

func bootstrapCluster(ctx context.Context, config *rest.Config, manifests string) error {
	a, err := newApplier(config)
	if err != nil {
		return err
	}
	if err := a.apply(ctx, []byte(helmCRDs), "k3s-standin"); err != nil {
		return fmt.Errorf("registering the helm.cattle.io CRDs: %w", err)
	}
	if err := waitEstablished(ctx, a.dynamic, "helmcharts.helm.cattle.io", "helmchartconfigs.helm.cattle.io"); err != nil {
		return err
	}
	a.mapper.Reset()
	// the built-in manifests now, so that agents can join; the deploy controller keeps them applied
	for name := range builtinManifests {
		data, err := os.ReadFile(filepath.Join(manifests, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := a.apply(ctx, data, deployFieldManager); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, client dynamic.Interface, names ...string) error {
	deadline := time.Now().Add(time.Minute)
	for _, name := range names {
		for {
			crd, err := client.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
			if err == nil && crdCondition(crd.Object, "Established") {
				break
			}
			if err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established after a minute", name)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}

func crdCondition(object map[string]interface{}, kind string) bool {
	status, _ := object["status"].(map[string]interface{})
	conditions, _ := status["conditions"].([]interface{})
	for _, c := range conditions {
		condition, _ := c.(map[string]interface{})
		if condition["type"] == kind && condition["status"] == "True" {
			return true
		}
	}
	return false
}
