package main

// What every k3s node runs (`k3s agent`, and `k3s server` unless --disable-agent): containerd, the kubelet
// (TLS-bootstrapped with the cluster token: its client certificate is a CSR approved and signed by
// kube-controller-manager), kube-proxy in iptables mode, and the node network (network.go).

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

type agentConfig struct {
	settings    *settings
	role        string
	serverURL   string
	password    string
	caPEM       []byte
	dataDir     string
	clusterCIDR string
	clusterDNS  string
	adminConfig *rest.Config // the server's own node only: to set the labels a kubelet may not set itself
}

func runAgent(args []string) int {
	return runNode("agent", args)
}

func startAgent(ctx context.Context, s *settings, errs chan error) error {
	serverURL := s.get("server", os.Getenv("K3S_URL"))
	token := s.get("token", os.Getenv("K3S_TOKEN"))
	if token == "" && s.get("token-file", "") != "" {
		data, err := os.ReadFile(s.get("token-file", ""))
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(data))
	}
	if serverURL == "" || token == "" {
		return configErrorf("an agent needs --server and --token (config.yaml keys server and token)")
	}
	parsed, err := url.Parse(serverURL)
	if err != nil || parsed.Scheme != "https" || parsed.Host == "" {
		return configErrorf("server must be an https:// URL, got %q", serverURL)
	}
	hash, password := splitToken(token)
	caPEM, err := fetchServerCA(ctx, parsed.Host)
	if err != nil {
		return err
	}
	if hash != "" && caHash(caPEM) != hash {
		return configErrorf("token CA hash does not match the Cluster CA certificate hash: %s != %s", hash, caHash(caPEM))
	}
	if err := checkJoinToken(ctx, serverURL, caPEM, password); err != nil {
		return err
	}
	agent := &agentConfig{
		settings:    s,
		role:        "agent",
		serverURL:   strings.TrimRight(serverURL, "/"),
		password:    password,
		caPEM:       caPEM,
		dataDir:     s.get("data-dir", defaultDataDir),
		clusterCIDR: defaultClusterCIDR,
		clusterDNS:  defaultClusterDNS,
	}
	return agent.start(ctx, errs)
}

// fetchServerCA reads the cluster CA from the server's TLS handshake (the serving certificate comes with
// its CA); the caller checks it against the token's hash, as k3s checks its /cacerts answer.
func fetchServerCA(ctx context.Context, host string) ([]byte, error) {
	for {
		conn, err := tls.Dial("tcp", host, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // checked against the token's CA hash
		if err == nil {
			certs := conn.ConnectionState().PeerCertificates
			conn.Close()
			for i := len(certs) - 1; i >= 0; i-- {
				if certs[i].IsCA {
					return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[i].Raw}), nil
				}
			}
			return nil, fmt.Errorf("the server at %s sent no CA certificate", host)
		}
		logf("Waiting to retrieve agent configuration; server is not ready: %v", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func checkJoinToken(ctx context.Context, serverURL string, caPEM []byte, password string) error {
	config := &rest.Config{Host: serverURL, BearerToken: password, TLSClientConfig: rest.TLSClientConfig{CAData: caPEM}}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	for {
		var status int
		result := client.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx)
		result.StatusCode(&status)
		switch {
		case status == http.StatusOK:
			return nil
		case status == http.StatusUnauthorized:
			return configErrorf("the server at %s rejected the token (401 Unauthorized)", serverURL)
		}
		logf("Waiting for the server at %s to accept the token (%d %v)", serverURL, status, result.Error())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

func (a *agentConfig) path(parts ...string) string {
	return filepath.Join(append([]string{a.dataDir, "agent"}, parts...)...)
}

func (a *agentConfig) start(ctx context.Context, errs chan error) error {
	s := a.settings
	name := nodeName(s)
	ip := nodeIP(s)
	binDir, err := extractBundle(a.dataDir)
	if err != nil {
		return err
	}
	caFile := a.path("server-ca.crt")
	if _, err := writeIfChanged(caFile, a.caPEM, 0o644); err != nil {
		return err
	}
	if err := os.Setenv("PATH", binDir+":"+os.Getenv("PATH")); err != nil {
		return err
	}

	// containerd
	_, systemd := os.Stat("/run/systemd/system")
	data := containerdTemplateData{
		DataDir:             a.dataDir,
		PauseImage:          s.get("pause-image", pauseImage),
		SystemdCgroup:       systemd == nil,
		RuntimeCgroup:       versionAtLeast(k3sVersion, [3]int{1, 28, 3}),
		RestrictOOMScoreAdj: true,
		DefaultRuntime:      s.get("default-runtime", ""),
		ExtraRuntimes:       detectRuntimes(),
	}
	configDir := a.path("etc", "containerd")
	text, generation, template, err := renderContainerdConfig(k3sVersion, configDir, data)
	if err != nil {
		return err
	}
	configFile := filepath.Join(configDir, "config.toml")
	if err := writeFileAtomic(configFile, []byte(text), 0o600); err != nil {
		return err
	}
	if template == "" {
		template = "the base template"
	}
	logf("containerd config %s rendered from %s (config version %d)", configFile, template, generation)
	runtimeEndpoint := s.get("container-runtime-endpoint", "")
	if runtimeEndpoint == "" {
		process, err := startContainerd(ctx, binDir, configFile, a.path("containerd"), a.path("containerd", "containerd.log"))
		if err != nil {
			return err
		}
		go func() { errs <- <-process.exited }()
		if err := importImages(ctx, a.path("images")); err != nil {
			return err
		}
		runtimeEndpoint = "unix://" + containerdSocket
	}

	// kubelet, TLS-bootstrapped with the join token
	bootstrap := a.path("kubelet-bootstrap.kubeconfig")
	if err := writeTokenKubeconfig(bootstrap, a.serverURL, a.caPEM, a.password); err != nil {
		return err
	}
	kubeletKubeconfig := a.path("kubelet.kubeconfig")
	kubeletConfig := a.path("kubelet.yaml")
	if err := writeKubeletConfig(kubeletConfig, a, caFile, runtimeEndpoint, systemd == nil); err != nil {
		return err
	}
	kubeletArgs := []string{
		"--config=" + kubeletConfig,
		"--kubeconfig=" + kubeletKubeconfig,
		"--bootstrap-kubeconfig=" + bootstrap,
		"--cert-dir=" + a.path("kubelet-pki"),
		"--hostname-override=" + name,
		"--node-ip=" + ip,
	}
	labels := append([]string{"node.kubernetes.io/instance-type=k3s"}, s.list("node-label")...)
	kubeletArgs = append(kubeletArgs, "--node-labels="+strings.Join(labels, ","))
	if taints := s.list("node-taint"); len(taints) > 0 {
		kubeletArgs = append(kubeletArgs, "--register-with-taints="+strings.Join(taints, ","))
	}
	kubeletArgs = append(kubeletArgs, componentArgs(s.list("kubelet-arg"))...)
	go func() {
		errs <- componentError("kubelet", runChild(ctx, "kubelet", kubeletArgs))
	}()
	nodeConfig, err := waitForKubeletCredentials(ctx, kubeletKubeconfig, errs)
	if err != nil {
		return err
	}
	nodeClient, err := kubernetes.NewForConfig(nodeConfig)
	if err != nil {
		return err
	}

	// kube-proxy with the node's credentials
	if !s.enabled("disable-kube-proxy") {
		proxyConfig := a.path("kube-proxy.yaml")
		if err := writeKubeProxyConfig(proxyConfig, name, a.clusterCIDR, kubeletKubeconfig); err != nil {
			return err
		}
		proxyArgs := append([]string{"--config=" + proxyConfig}, componentArgs(s.list("kube-proxy-arg"))...)
		go func() {
			errs <- componentError("kube-proxy", runChild(ctx, "kube-proxy", proxyArgs))
		}()
	}
	node, err := waitForNode(ctx, nodeClient, name, errs)
	if err != nil {
		return err
	}
	if a.adminConfig != nil {
		if err := labelServerNode(ctx, a.adminConfig, name); err != nil {
			return err
		}
	}
	network := &nodeNetwork{
		client: nodeClient, name: name, dataDir: a.dataDir, cniDir: a.path("etc", "cni", "net.d"),
		clusterCIDR: a.clusterCIDR,
	}
	go network.run(ctx)
	go runLocalPathSweeper(ctx, nodeClient, name)
	logf("node %s registered (%s, kubelet %s, %s)", name, a.role, node.Status.NodeInfo.KubeletVersion, containerdVersion(ctx))
	notifySystemd("READY=1")
	return nil
}

func writeTokenKubeconfig(path, server string, caPEM []byte, token string) error {
	config := clientcmdapi.NewConfig()
	config.Clusters["default"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	config.AuthInfos["default"] = &clientcmdapi.AuthInfo{Token: token}
	config.Contexts["default"] = &clientcmdapi.Context{Cluster: "default", AuthInfo: "default"}
	config.CurrentContext = "default"
	data, err := clientcmd.Write(*config)
	if err != nil {
		return err
	}
	_, err = writeIfChanged(path, data, 0o600)
	return err
}

func writeKubeletConfig(path string, a *agentConfig, caFile, runtimeEndpoint string, systemd bool) error {
	driver := "cgroupfs"
	if systemd {
		driver = "systemd"
	}
	resolv := a.settings.get("resolv-conf", "/etc/resolv.conf")
	text := fmt.Sprintf(`# Written by the k3s stand-in at every start.
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# these machines use cgroup v1 (hybrid layout); kubelet 1.35 refuses it unless told otherwise
failCgroupV1: false
cgroupDriver: %s
containerRuntimeEndpoint: %s
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: %s
authorization:
  mode: Webhook
clusterDNS: [%s]
clusterDomain: cluster.local
resolvConf: %s
rotateCertificates: true
failSwapOn: false
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
staticPodPath: %s
serializeImagePulls: false
# the machines' capability set lacks CAP_SYS_RESOURCE: the kubelet may not lower its own OOM score
oomScoreAdj: 0
# the lab's nodes are containers on one shared disk, where other test stages come and go: no disk-based
# eviction (0%% turns a signal off), or a full build cache elsewhere taints both nodes with disk-pressure and
# no desktop can be scheduled; the imported images are pinned against image garbage collection (containerd.go)
evictionHard:
  imagefs.available: 0%%
  imagefs.inodesFree: 0%%
  nodefs.available: 0%%
  nodefs.inodesFree: 0%%
  memory.available: 100Mi
`, driver, runtimeEndpoint, caFile, a.clusterDNS, resolv, a.path("pod-manifests"))
	_, err := writeIfChanged(path, []byte(text), 0o600)
	return err
}

func writeKubeProxyConfig(path, name, clusterCIDR, kubeconfig string) error {
	text := fmt.Sprintf(`# Written by the k3s stand-in at every start.
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clusterCIDR: %s
hostnameOverride: %s
clientConnection:
  kubeconfig: %s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# the machines lack CAP_SYS_RESOURCE: kube-proxy may not lower its own OOM score
oomScoreAdj: 0
conntrack:
  # the node is a container: leave the host-wide conntrack table size and timeouts alone
  maxPerCore: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`, clusterCIDR, name, kubeconfig)
	_, err := writeIfChanged(path, []byte(text), 0o600)
	return err
}

// waitForKubeletCredentials waits for the kubelet's TLS bootstrap to leave its kubeconfig.
func waitForKubeletCredentials(ctx context.Context, kubeconfig string, errs chan error) (*rest.Config, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := os.Stat(kubeconfig); err == nil {
			if config, err := restConfig(kubeconfig); err == nil {
				return config, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the kubelet got no client certificate within 3 minutes (is its CSR approved?)")
		}
		select {
		case err := <-errs:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func waitForNode(ctx context.Context, client kubernetes.Interface, name string, errs chan error) (*corev1.Node, error) {
	deadline := time.Now().Add(3 * time.Minute)
	for {
		node, err := client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return node, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("node %s did not register within 3 minutes: %v", name, err)
		}
		select {
		case err := <-errs:
			return nil, err
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// labelServerNode sets the role labels k3s gives its servers, which NodeRestriction keeps a kubelet from
// setting on itself.
func labelServerNode(ctx context.Context, config *rest.Config, name string) error {
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	patch := []byte(`{"metadata":{"labels":{"node-role.kubernetes.io/control-plane":"true","node-role.kubernetes.io/master":"true"}}}`)
	_, err = client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "k3s-standin"})
	return err
}
