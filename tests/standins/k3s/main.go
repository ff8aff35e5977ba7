// Command k3s is the project's STAND-IN for the k3s release binary (which cannot be downloaded here).
//
// Like k3s it is one multi-call binary: `k3s server` and `k3s agent` read /etc/rancher/k3s/config.yaml and
// run the real Kubernetes components linked into this binary (kube-apiserver, kube-controller-manager,
// kube-scheduler, kubelet, kube-proxy; embedded etcd in the launcher's own process) as child processes of
// the same binary, and containerd, extracted from the binary into the data directory. What is a stand-in and what is real is listed
// in docs/testing.md.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Set at link time by build.py (-ldflags -X main.k3sVersion=...).
var (
	k3sVersion      = "v0.0.0+k3s0"
	k3sCommit       = "roverlab-standin"
	builtKubernetes = "unknown" // the k8s.io/kubernetes release linked in (go.mod)
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args[1:]
	if name == "k3s" || !isComponent(name) {
		if len(args) == 0 {
			usage()
			os.Exit(1)
		}
		name, args = args[0], args[1:]
	}
	os.Exit(run(name, args))
}

func usage() {
	fmt.Fprintf(os.Stderr, "k3s stand-in %s: k3s --version | server | agent | kubectl | crictl-less tools: %s\n",
		k3sVersion, strings.Join(componentNames(), ", "))
}

func run(name string, args []string) int {
	switch name {
	case "--version", "-v", "version":
		printVersion()
		return 0
	case "server":
		return runServer(args)
	case "agent":
		return runAgent(args)
	}
	if c, ok := components[name]; ok {
		setReleaseCompatibility(name)
		if name == "kubectl" {
			defaultKubeconfigForKubectl(args)
		}
		return c(args)
	}
	fmt.Fprintf(os.Stderr, "%s: `k3s %s` is not in the k3s stand-in\n", standinNote, name)
	usage()
	return 1
}

const standinNote = "k3s stand-in (roverlab test double for the k3s release binary)"

func printVersion() {
	fmt.Printf("k3s version %s (%s)\n", k3sVersion, k3sCommit)
	fmt.Printf("go version %s\n", goVersion())
	fmt.Printf("stand-in: %s; runs the real Kubernetes %s components (reporting %s) and containerd, "+
		"built from their Go modules\n", standinNote, builtKubernetes, kubernetesVersion())
}

// defaultKubeconfigForKubectl: like `k3s kubectl`, use the server's admin kubeconfig unless told otherwise.
func defaultKubeconfigForKubectl(args []string) {
	if os.Getenv("KUBECONFIG") != "" {
		return
	}
	for _, arg := range args {
		if strings.HasPrefix(arg, "--kubeconfig") {
			return
		}
	}
	if _, err := os.Stat(defaultKubeconfig); err == nil {
		os.Setenv("KUBECONFIG", defaultKubeconfig)
	}
}
