package main

import (
	"context"
	"os"
	"runtime"
	"sort"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	logsapi "k8s.io/component-base/logs/api/v1"
	"k8s.io/component-base/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	kubeproxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// The real components linked into this binary, each run with its own upstream command line.
var components = map[string]func(args []string) int{
	"kube-apiserver":          func(a []string) int { return runCommand(apiserver.NewAPIServerCommand(), a) },
	"kube-controller-manager": func(a []string) int { return runCommand(controllermanager.NewControllerManagerCommand(), a) },
	"kube-scheduler":          func(a []string) int { return runCommand(scheduler.NewSchedulerCommand(), a) },
	"kubelet":                 func(a []string) int { return runCommand(kubelet.NewKubeletCommand(context.Background()), a) },
	"kube-proxy":              func(a []string) int { return runCommand(kubeproxy.NewProxyCommand(), a) },
	"kubectl":                 func(a []string) int { return runCommand(kubectl.NewDefaultKubectlCommand(), a) },
	"etcd":                    runEtcdCommand,
}

func isComponent(name string) bool {
	_, ok := components[name]
	return ok
}

func componentNames() []string {
	names := make([]string, 0, len(components))
	for name := range components {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func runCommand(c *cobra.Command, args []string) int {
	c.SetArgs(args)
	return cli.Run(c)
}

func init() {
	// the components of one process share klog: each applies the same logging configuration at start,
	// which is allowed as long as it does not change
	logsapi.ReapplyHandling = logsapi.ReapplyHandlingIgnoreUnchanged
}

// executeCommand runs a component in this process (a goroutine of `k3s server` / `k3s agent`, as k3s does);
// it returns the command's error instead of exiting.
func executeCommand(ctx context.Context, c *cobra.Command, args []string) error {
	c.SetArgs(args)
	c.SilenceUsage = true
	return c.ExecuteContext(ctx)
}

func kubernetesVersion() string { return version.Get().GitVersion }

func goVersion() string { return runtime.Version() }

var _ = os.Args
