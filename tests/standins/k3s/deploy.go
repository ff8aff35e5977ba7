package main

// k3s's auto-deploy: every *.yaml / *.yml / *.json file in server/manifests is applied at start and again
// when it changes, with server-side apply (k3s uses its own apply; the effect on the objects is the same).
// The server writes its own manifests there first (rolebindings.yaml, local-storage.yaml), as k3s does;
// a component listed in `disable` gets no manifest. A file next to an empty "<name>.skip" is left alone.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

const deployFieldManager = "k3s-deploy"

// Our own words for what k3s puts in its manifests folder, limited to what this stand-in serves.
var builtinManifests = map[string]string{
	"rolebindings.yaml": `# Written by the k3s stand-in at every start. Agents join with the cluster token as a bootstrap
# identity that may only ask for a kubelet client certificate (approved by kube-controller-manager);
# nodes renew their own certificates and run kube-proxy with their node credentials.
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: k3s-standin:agent-join
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node-bootstrapper
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:bootstrappers:k3s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: k3s-standin:agent-autoapprove
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:certificates.k8s.io:certificatesigningrequests:nodeclient
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:bootstrappers:k3s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: k3s-standin:node-autorenew
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:certificates.k8s.io:certificatesigningrequests:selfnodeclient
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:nodes
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: k3s-standin:node-proxier
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:node-proxier
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:nodes
---
# the local-path stand-in: each node removes the volume directories that no PersistentVolume names
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: k3s-standin:local-path-node
rules:
  - apiGroups: [""]
    resources: [persistentvolumes]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: k3s-standin:local-path-node
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: k3s-standin:local-path-node
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:nodes
`,
	"local-storage.yaml": `# Written by the k3s stand-in at every start (unless local-storage is disabled): the local-path
# StorageClass. Its volumes are made by the stand-in's provisioner (localpath.go), not by rancher's
# local-path-provisioner, which is not available here.
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: local-path
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: rancher.io/local-path
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
`,
}

func writeBuiltinManifests(dir string, s *settings) error {
	for name, text := range builtinManifests {
		path := filepath.Join(dir, name)
		component := strings.TrimSuffix(name, ".yaml")
		if s.disabled(component) {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				return err
			}
			continue
		}
		if _, err := writeIfChanged(path, []byte(text), 0o600); err != nil {
			return err
		}
	}
	return nil
}

type applier struct {
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
}

func newApplier(config *rest.Config) (*applier, error) {
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(config)
	if err != nil {
		return nil, err
	}
	return &applier{dyn, restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}, nil
}

func decodeDocuments(data []byte) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objects []*unstructured.Unstructured
	for {
		object := &unstructured.Unstructured{}
		if err := decoder.Decode(&object.Object); err != nil {
			if err == io.EOF {
				return objects, nil
			}
			return nil, err
		}
		if len(object.Object) > 0 {
			objects = append(objects, object)
		}
	}
}

// apply server-side-applies every object in DATA.
func (a *applier) apply(ctx context.Context, data []byte, manager string) error {
	objects, err := decodeDocuments(data)
	if err != nil {
		return err
	}
	for _, object := range objects {
		if err := a.applyObject(ctx, object, manager); err != nil {
			return fmt.Errorf("%s %s: %w", object.GetKind(), object.GetName(), err)
		}
	}
	return nil
}

func (a *applier) applyObject(ctx context.Context, object *unstructured.Unstructured, manager string) error {
	gvk := object.GroupVersionKind()
	mapping, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		a.mapper.Reset()
		if mapping, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
			return err
		}
	}
	body, err := object.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	options := metav1.PatchOptions{FieldManager: manager, Force: &force}
	var resource dynamic.ResourceInterface = a.dynamic.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		namespace := object.GetNamespace()
		if namespace == "" {
			namespace = "default"
		}
		resource = a.dynamic.Resource(mapping.Resource).Namespace(namespace)
	}
	_, err = resource.Patch(ctx, object.GetName(), types.ApplyPatchType, body, options)
	return err
}

func manifestFiles(dir string) []string {
	entries, _ := os.ReadDir(dir)
	var files []string
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".json")) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name+".skip")); err == nil {
			continue
		}
		files = append(files, filepath.Join(dir, name))
	}
	sort.Strings(files)
	return files
}

// applyManifests applies the files whose content is not in APPLIED (path -> sha256); returns the failures.
func applyManifests(ctx context.Context, a *applier, dir string, applied map[string][32]byte) []error {
	var failures []error
	for _, path := range manifestFiles(dir) {
		data, err := os.ReadFile(path)
		if err != nil {
			failures = append(failures, err)
			continue
		}
		sum := sha256.Sum256(data)
		if old, ok := applied[path]; ok && old == sum {
			continue
		}
		if err := a.apply(ctx, data, deployFieldManager); err != nil {
			failures = append(failures, fmt.Errorf("%s: %w", path, err))
			continue
		}
		applied[path] = sum
		logf("deploy: applied %s", path)
	}
	return failures
}

// runDeployController applies the manifests folder every 15 seconds (only files that changed).
func runDeployController(ctx context.Context, config *rest.Config, dir string) {
	a, err := newApplier(config)
	if err != nil {
		logf("deploy: %v", err)
		return
	}
	applied := map[string][32]byte{}
	for {
		for _, err := range applyManifests(ctx, a, dir, applied) {
			logf("deploy: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
	}
}
