package main

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"syscall"
	"time"

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

// runChild runs a component as a child process of this binary (`k3s kube-apiserver ...` and so on), with its
// own upstream command line; it returns when the child exits. Each component gets a process of its own
// because the upstream commands each install the process-wide signal handler, which may only happen once.
func runChild(ctx context.Context, name string, args []string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// like k3s's components: they go when k3s goes
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			return <-done
		}
	}
}

func kubernetesVersion() string { return version.Get().GitVersion }

func goVersion() string { return runtime.Version() }
