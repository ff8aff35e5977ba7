package main

// HelmChart resources: STAND-IN for k3s's helm-controller. The real one (github.com/k3s-io/helm-controller,
// served by the module proxy) runs every install as a Job in the rancher/klipper-helm image, which no registry
// here can provide; this runner does the same work in the server's process with the real helm library
// (helm.sh/helm/v3, pinned in go.mod): for each helm.cattle.io/v1 HelmChart it installs the chart as the
// release named like the HelmChart, in spec.targetNamespace (creating it with spec.createNamespace), with
// spec.valuesContent, then the valuesContent of the HelmChartConfig of the same name, then spec.set, merged
// in that order as helm merges -f files and --set; it upgrades the release when any of these change and
// uninstalls it when the HelmChart is deleted (the finalizer helm-controller sets). Charts come from
// spec.chartContent (a base64 .tgz); a chart that only names a repository is refused with a Failed
// condition, as no chart repository is reachable here (on a real cluster without one, helm-controller's
// Job fails the same way). Each HelmChart's status says what happened (conditions; no jobName: no Job).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/storage/driver"
	"helm.sh/helm/v3/pkg/strvals"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/yaml"
)

const (
	helmFinalizer    = "wrangler.cattle.io/on-helm-chart-remove" // the one helm-controller sets
	helmHashLabel    = "helmcharts.helm.cattle.io/configHash"
	helmFieldManager = "helm-controller-standin"
	helmDefaultWait  = 300 * time.Second
)

var (
	helmChartResource  = schema.GroupVersionResource{Group: "helm.cattle.io", Version: "v1", Resource: "helmcharts"}
	helmConfigResource = schema.GroupVersionResource{Group: "helm.cattle.io", Version: "v1", Resource: "helmchartconfigs"}
)

type helmRunner struct {
	client     dynamic.Interface
	kubeconfig string
	charts     cache.GenericLister
	configs    cache.GenericLister
	queue      workqueue.TypedRateLimitingInterface[string]
}

func runHelmController(ctx context.Context, config *rest.Config, kubeconfig string) {
	client, err := dynamic.NewForConfig(config)
	if err != nil {
		logf("helm: %v", err)
		return
	}
	factory := dynamicinformer.NewDynamicSharedInformerFactory(client, 10*time.Minute)
	charts := factory.ForResource(helmChartResource)
	configs := factory.ForResource(helmConfigResource)
	h := &helmRunner{
		client:     client,
		kubeconfig: kubeconfig,
		charts:     charts.Lister(),
		configs:    configs.Lister(),
		queue:      workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
	}
	enqueue := func(obj interface{}) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			h.queue.Add(key)
		}
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj interface{}) { enqueue(obj) },
		DeleteFunc: enqueue,
	}
	// a HelmChartConfig changes the values of the HelmChart of the same name
	_, _ = charts.Informer().AddEventHandler(handler)
	_, _ = configs.Informer().AddEventHandler(handler)
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	logf("helm: HelmChart runner started (helm-controller stand-in, helm library %s)", helmVersion())
	go func() {
		<-ctx.Done()
		h.queue.ShutDown()
	}()
	for {
		key, quit := h.queue.Get()
		if quit {
			return
		}
		if err := h.sync(ctx, key); err != nil {
			logf("helm: %s: %v", key, err)
			h.queue.AddRateLimited(key)
		} else {
			h.queue.Forget(key)
		}
		h.queue.Done(key)
	}
}

func (h *helmRunner) sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	object, err := h.charts.ByNamespace(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil // deleted (its finalizer was handled below) or only a HelmChartConfig
	}
	if err != nil {
		return err
	}
	chart := object.(*unstructured.Unstructured)
	spec, _, _ := unstructured.NestedMap(chart.Object, "spec")
	target, _ := spec["targetNamespace"].(string)
	if target == "" {
		target = namespace
	}
	if chart.GetDeletionTimestamp() != nil {
		if !hasString(chart.GetFinalizers(), helmFinalizer) {
			return nil
		}
		if err := h.uninstall(target, name); err != nil {
			return err
		}
		return h.setFinalizer(ctx, chart, false)
	}
	if !hasString(chart.GetFinalizers(), helmFinalizer) {
		return h.setFinalizer(ctx, chart, true) // the update brings the chart back through the queue
	}
	values, err := h.values(namespace, name, spec)
	if err != nil {
		return h.setStatus(ctx, chart, err)
	}
	message, err := h.deploy(ctx, target, name, spec, values)
	var refused *chartRefused
	if errors.As(err, &refused) {
		return h.setStatus(ctx, chart, err) // the HelmChart must change first: no retry
	}
	if err != nil {
		_ = h.setStatus(ctx, chart, err)
		return err
	}
	if message != "" {
		logf("helm: %s/%s: %s", namespace, name, message)
	}
	return h.setStatus(ctx, chart, nil)
}

// values: spec.valuesContent, the HelmChartConfig's valuesContent, then spec.set, each over the one before.
func (h *helmRunner) values(namespace, name string, spec map[string]interface{}) (map[string]interface{}, error) {
	values := map[string]interface{}{}
	layers := []string{}
	if content, _ := spec["valuesContent"].(string); content != "" {
		layers = append(layers, content)
	}
	if object, err := h.configs.ByNamespace(namespace).Get(name); err == nil {
		config := object.(*unstructured.Unstructured)
		if content, _, _ := unstructured.NestedString(config.Object, "spec", "valuesContent"); content != "" {
			layers = append(layers, content)
		}
	}
	for _, layer := range layers {
		parsed := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(layer), &parsed); err != nil {
			return nil, fmt.Errorf("valuesContent is not YAML: %w", err)
		}
		values = mergeValues(values, parsed)
	}
	set, _ := spec["set"].(map[string]interface{})
	keys := make([]string, 0, len(set))
	for key := range set {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		var err error
		switch value := set[key].(type) {
		case string:
			err = strvals.ParseIntoString(key+"="+value, values)
		default:
			err = strvals.ParseInto(fmt.Sprintf("%s=%v", key, value), values)
		}
		if err != nil {
			return nil, fmt.Errorf("spec.set[%s]: %w", key, err)
		}
	}
	return values, nil
}

// mergeValues merges OVER into BASE the way helm merges values files: maps deeply, everything else replaced.
func mergeValues(base, over map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(base))
	for key, value := range base {
		out[key] = value
	}
	for key, value := range over {
		if overMap, ok := value.(map[string]interface{}); ok {
			if baseMap, ok := out[key].(map[string]interface{}); ok {
				out[key] = mergeValues(baseMap, overMap)
				continue
			}
		}
		out[key] = value
	}
	return out
}

func (h *helmRunner) configuration(namespace string) (*action.Configuration, error) {
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &h.kubeconfig
	flags.Namespace = &namespace
	config := new(action.Configuration)
	err := config.Init(flags, namespace, "secret", func(format string, v ...interface{}) {})
	return config, err
}

// deploy installs or upgrades release NAME in TARGET unless its last release has the same chart and values.
func (h *helmRunner) deploy(ctx context.Context, target, name string, spec, values map[string]interface{}) (string, error) {
	content, _ := spec["chartContent"].(string)
	if content == "" {
		return "", refuse("the helm-controller stand-in installs charts from spec.chartContent only; chart %v from "+
			"repository %v cannot be fetched (no chart repository is reachable here)", spec["chart"], spec["repo"])
	}
	archive, err := base64.StdEncoding.DecodeString(content)
	if err != nil {
		return "", refuse("spec.chartContent is not base64: %v", err)
	}
	chart, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return "", refuse("spec.chartContent: %v", err)
	}
	encoded, err := json.Marshal(values)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(append(append(archive, 0), encoded...))
	hash := hex.EncodeToString(sum[:])[:32]
	timeout := helmDefaultWait
	if text, _ := spec["timeout"].(string); text != "" {
		if timeout, err = time.ParseDuration(text); err != nil {
			return "", refuse("spec.timeout: %v", err)
		}
	}
	createNamespace, _ := spec["createNamespace"].(bool)
	config, err := h.configuration(target)
	if err != nil {
		return "", err
	}
	last, err := action.NewGet(config).Run(name)
	if err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return "", err
	}
	labels := map[string]string{helmHashLabel: hash}
	if last == nil {
		install := action.NewInstall(config)
		install.ReleaseName, install.Namespace, install.CreateNamespace = name, target, createNamespace
		install.Timeout, install.Labels = timeout, labels
		release, err := install.RunWithContext(ctx, chart, values)
		if err != nil {
			return "", fmt.Errorf("helm install %s: %w", name, err)
		}
		return fmt.Sprintf("installed release %s revision %d in %s", name, release.Version, target), nil
	}
	if last.Labels[helmHashLabel] == hash && last.Info != nil && last.Info.Status == "deployed" {
		return "", nil
	}
	upgrade := action.NewUpgrade(config)
	upgrade.Namespace, upgrade.Timeout, upgrade.Labels, upgrade.MaxHistory = target, timeout, labels, 10
	release, err := upgrade.RunWithContext(ctx, name, chart, values)
	if err != nil {
		return "", fmt.Errorf("helm upgrade %s: %w", name, err)
	}
	return fmt.Sprintf("upgraded release %s to revision %d in %s", name, release.Version, target), nil
}

func (h *helmRunner) uninstall(target, name string) error {
	config, err := h.configuration(target)
	if err != nil {
		return err
	}
	if _, err := action.NewUninstall(config).Run(name); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
		return fmt.Errorf("helm uninstall %s: %w", name, err)
	}
	logf("helm: uninstalled release %s in %s", name, target)
	return nil
}

func (h *helmRunner) setFinalizer(ctx context.Context, chart *unstructured.Unstructured, present bool) error {
	finalizers := []string{}
	for _, f := range chart.GetFinalizers() {
		if f != helmFinalizer {
			finalizers = append(finalizers, f)
		}
	}
	if present {
		finalizers = append(finalizers, helmFinalizer)
	}
	patch, _ := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
		"finalizers": finalizers, "resourceVersion": chart.GetResourceVersion(),
	}})
	_, err := h.client.Resource(helmChartResource).Namespace(chart.GetNamespace()).Patch(ctx, chart.GetName(),
		types.MergePatchType, patch, metav1.PatchOptions{FieldManager: helmFieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// setStatus records the outcome as a Failed condition (False: deployed), only when it changed.
func (h *helmRunner) setStatus(ctx context.Context, chart *unstructured.Unstructured, failure error) error {
	condition := map[string]interface{}{"type": "Failed", "status": "False", "reason": "Deployed",
		"message": "installed by the k3s stand-in's helm runner (stand-in for helm-controller)"}
	if failure != nil {
		condition = map[string]interface{}{"type": "Failed", "status": "True", "reason": "Error", "message": failure.Error()}
	}
	old, _, _ := unstructured.NestedSlice(chart.Object, "status", "conditions")
	if len(old) == 1 {
		if same, _ := old[0].(map[string]interface{}); fmt.Sprint(same) == fmt.Sprint(condition) {
			return nil
		}
	}
	patch, _ := json.Marshal(map[string]interface{}{"status": map[string]interface{}{"conditions": []interface{}{condition}}})
	_, err := h.client.Resource(helmChartResource).Namespace(chart.GetNamespace()).Patch(ctx, chart.GetName(),
		types.MergePatchType, patch, metav1.PatchOptions{FieldManager: helmFieldManager}, "status")
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

func hasString(values []string, want string) bool {
	for _, value := range values {
		if value == want {
			return true
		}
	}
	return false
}

// chartRefused: a HelmChart that cannot be deployed as it is (retrying would not help).
type chartRefused struct{ msg string }

func (e *chartRefused) Error() string { return e.msg }

func refuse(format string, args ...interface{}) error {
	return &chartRefused{fmt.Sprintf(format, args...)}
}

// helmVersion: the helm module linked in, from the build information.
func helmVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, module := range info.Deps {
			if module.Path == "helm.sh/helm/v3" {
				return module.Version
			}
		}
	}
	return "unknown"
}
