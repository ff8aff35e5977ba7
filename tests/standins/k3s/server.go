package main

// `k3s server`: the control plane in this process (embedded etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, each the upstream component run with its own command line), the server's own add-ons
// (auto-deploy manifests, HelmChart runner, local-path provisioner) and, unless --disable-agent, the
// node parts that every k3s node runs (agent.go).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	defaultDataDir     = "/var/lib/rancher/k3s"
	defaultKubeconfig  = "/etc/rancher/k3s/k3s.yaml"
	defaultClusterCIDR = "10.42.0.0/16"
	defaultServiceCIDR = "10.43.0.0/16"
	defaultClusterDNS  = "10.43.0.10"
	bootstrapGroup     = "system:bootstrappers:k3s"
)

type serverPaths struct {
	data, server, tls, cred, etcd, manifests string
}

func newServerPaths(dataDir string) serverPaths {
	server := filepath.Join(dataDir, "server")
	return serverPaths{
		data:      dataDir,
		server:    server,
		tls:       filepath.Join(server, "tls"),
		cred:      filepath.Join(server, "cred"),
		etcd:      filepath.Join(server, "db", "etcd"),
		manifests: filepath.Join(server, "manifests"),
	}
}

func runServer(args []string) int {
	return runNode("server", args)
}

func runNode(role string, args []string) int {
	logf("%s %s %s starting (Kubernetes %s)", standinNote, role, k3sVersion, kubernetesVersion())
	s, err := loadSettings(role, k3sVersion, args)
	if err != nil {
		logf("level=fatal msg=%q", err.Error())
		return 1
	}
	ctx, stop := signalContext()
	defer stop()
	errs := make(chan error, 16)
	if role == "server" {
		err = startServer(ctx, s, errs)
	} else {
		err = startAgent(ctx, s, errs)
	}
	if err != nil {
		logf("level=fatal msg=%q", err.Error())
		return 1
	}
	select {
	case <-ctx.Done():
		logf("stopping")
		return 0
	case err := <-errs:
		logf("level=fatal msg=%q", err.Error())
		return 1
	}
}

// serverToken returns the cluster password: kept from the first start, like k3s's bootstrap data.
func serverToken(s *settings, paths serverPaths, ca *authority) (string, error) {
	configured := s.get("token", os.Getenv("K3S_TOKEN"))
	if configured == "" && s.get("token-file", "") != "" {
		data, err := os.ReadFile(s.get("token-file", ""))
		if err != nil {
			return "", err
		}
		configured = strings.TrimSpace(string(data))
	}
	_, configuredPassword := splitToken(configured)
	tokenFile := filepath.Join(paths.server, "token")
	password := configuredPassword
	if data, err := os.ReadFile(tokenFile); err == nil {
		_, kept := splitToken(string(data))
		if configuredPassword != "" && configuredPassword != kept {
			return "", configErrorf("bootstrap data already found and encrypted with different token: the token in " +
				"config.yaml is not the one this server was created with (use `k3s token rotate` on a real server)")
		}
		password = kept
	} else if password == "" {
		buf := make([]byte, 16)
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		password = hex.EncodeToString(buf)
	}
	full := fullToken(ca.certPEM, password) + "\n"
	for _, name := range []string{"token", "node-token"} {
		if _, err := writeIfChanged(filepath.Join(paths.server, name), []byte(full), 0o600); err != nil {
			return "", err
		}
	}
	// the join token as the API server's static token: its holder may only ask for a node certificate
	line := fmt.Sprintf("%s,k3s-agent-join,k3s-agent-join,%q\n", password, bootstrapGroup)
	if _, err := writeIfChanged(filepath.Join(paths.cred, "join-tokens.csv"), []byte(line), 0o600); err != nil {
		return "", err
	}
	return password, nil
}

func primaryIP() string {
	conn, err := net.Dial("udp", "192.0.2.1:9") // no packet is sent: this only picks the source address
	if err == nil {
		defer conn.Close()
		return conn.LocalAddr().(*net.UDPAddr).IP.String()
	}
	return "127.0.0.1"
}

func nodeIP(s *settings) string {
	if ips := s.list("node-ip"); len(ips) > 0 {
		return ips[0]
	}
	return primaryIP()
}

func nodeName(s *settings) string {
	if name := s.get("node-name", os.Getenv("K3S_NODE_NAME")); name != "" {
		return strings.ToLower(name)
	}
	host, _ := os.Hostname()
	return strings.ToLower(host)
}

func firstOr(values []string, fallback string) string {
	if len(values) > 0 {
		return values[0]
	}
	return fallback
}

func startServer(ctx context.Context, s *settings, errs chan error) error {
	paths := newServerPaths(s.get("data-dir", defaultDataDir))
	for _, dir := range []string{paths.tls, paths.cred, paths.manifests} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	ca, err := loadOrCreateCA(paths.tls, "k3s-standin-ca")
	if err != nil {
		return err
	}
	password, err := serverToken(s, paths, ca)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(s.get("https-listen-port", "6443"))
	if err != nil {
		return configErrorf("https-listen-port: %v", err)
	}
	bind := s.get("bind-address", "0.0.0.0")
	advertise := s.get("advertise-address", "")
	if advertise == "" {
		if bind != "0.0.0.0" && bind != "::" {
			advertise = bind
		} else {
			advertise = nodeIP(s)
		}
	}
	serviceCIDR := firstOr(s.list("service-cidr"), defaultServiceCIDR)
	clusterCIDR := firstOr(s.list("cluster-cidr"), defaultClusterCIDR)
	apiServiceIP, err := firstServiceIP(serviceCIDR)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	sans := leafSpec{
		commonName: "kube-apiserver",
		dnsNames: []string{"kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local", "localhost", strings.ToLower(host)},
		ips:    []net.IP{net.ParseIP("127.0.0.1"), apiServiceIP, net.ParseIP(advertise)},
		server: true,
	}
	for _, san := range append(s.list("tls-san"), s.list("node-ip")...) {
		if ip := net.ParseIP(san); ip != nil {
			sans.ips = append(sans.ips, ip)
		} else {
			sans.dnsNames = append(sans.dnsNames, san)
		}
	}
	servingCert, servingKey, err := ca.issue(paths.tls, "serving-kube-apiserver", sans)
	if err != nil {
		return err
	}
	clients := map[string]leafSpec{
		"client-admin":             {commonName: "system:admin", organization: []string{"system:masters"}},
		"client-controller":        {commonName: "system:kube-controller-manager"},
		"client-scheduler":         {commonName: "system:kube-scheduler"},
		"client-kube-apiserver":    {commonName: "kube-apiserver", organization: []string{"system:masters"}},
		"client-k3s-server-addons": {commonName: "system:k3s-controller", organization: []string{"system:masters"}},
	}
	clientFiles := map[string][2]string{}
	for name, spec := range clients {
		cert, key, err := ca.issue(paths.tls, name, spec)
		if err != nil {
			return err
		}
		clientFiles[name] = [2]string{cert, key}
	}
	saKey := filepath.Join(paths.tls, "service.key")
	if _, err := os.Stat(saKey); err != nil {
		_, keyPEM, err := newKey()
		if err != nil {
			return err
		}
		if err := writeFileAtomic(saKey, keyPEM, 0o600); err != nil {
			return err
		}
	}
	caFile := filepath.Join(paths.tls, "ca.crt")
	localURL := fmt.Sprintf("https://127.0.0.1:%d", port)
	if bind != "0.0.0.0" && bind != "::" && bind != "127.0.0.1" {
		localURL = fmt.Sprintf("https://%s:%d", bind, port)
	}
	kubeconfigs := map[string]string{}
	for _, name := range []string{"client-admin", "client-controller", "client-scheduler", "client-k3s-server-addons"} {
		path := filepath.Join(paths.cred, strings.TrimPrefix(name, "client-")+".kubeconfig")
		if err := writeKubeconfig(path, localURL, ca.certPEM, clientFiles[name][0], clientFiles[name][1], 0o600); err != nil {
			return err
		}
		kubeconfigs[name] = path
	}

	etcdURL, err := startEtcd(ctx, paths.etcd, s.list("etcd-arg"))
	if err != nil {
		return err
	}
	apiArgs := []string{
		"--advertise-address=" + advertise,
		"--bind-address=" + bind,
		"--secure-port=" + strconv.Itoa(port),
		"--etcd-servers=" + etcdURL,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--service-node-port-range=" + s.get("service-node-port-range", "30000-32767"),
		"--allow-privileged=true",
		"--anonymous-auth=false",
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		"--client-ca-file=" + caFile,
		"--tls-cert-file=" + servingCert,
		"--tls-private-key-file=" + servingKey,
		"--kubelet-client-certificate=" + clientFiles["client-kube-apiserver"][0],
		"--kubelet-client-key=" + clientFiles["client-kube-apiserver"][1],
		"--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
		"--service-account-key-file=" + saKey,
		"--service-account-signing-key-file=" + saKey,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--api-audiences=https://kubernetes.default.svc.cluster.local,k3s",
		"--token-auth-file=" + filepath.Join(paths.cred, "join-tokens.csv"),
		"--profiling=false",
	}
	if ip := net.ParseIP(advertise); ip != nil && ip.IsLoopback() {
		// the kubernetes Service may not point at a loopback address: a loopback-only server (the tests'
		// API tier) publishes none
		apiArgs = append(apiArgs, "--endpoint-reconciler-type=none")
	}
	apiArgs = append(apiArgs, componentArgs(s.list("kube-apiserver-arg"))...)
	go func() {
		errs <- componentError("kube-apiserver", runChild(ctx, "kube-apiserver", apiArgs))
	}()
	admin, err := restConfig(kubeconfigs["client-admin"])
	if err != nil {
		return err
	}
	if err := waitForAPI(ctx, admin, errs); err != nil {
		return err
	}
	logf("kube-apiserver ready on %s (etcd %s)", localURL, etcdURL)
	if err := writeAdminKubeconfig(s, localURL, ca.certPEM, clientFiles["client-admin"]); err != nil {
		return err
	}
	addons, err := restConfig(kubeconfigs["client-k3s-server-addons"])
	if err != nil {
		return err
	}
	if err := writeBuiltinManifests(paths.manifests, s); err != nil {
		return err
	}
	if err := bootstrapCluster(ctx, addons, paths.manifests); err != nil {
		return err
	}
	if !s.enabled("disable-controller-manager") {
		cmArgs := []string{
			"--kubeconfig=" + kubeconfigs["client-controller"],
			"--authentication-kubeconfig=" + kubeconfigs["client-controller"],
			"--authorization-kubeconfig=" + kubeconfigs["client-controller"],
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
			"--use-service-account-credentials=true",
			"--service-account-private-key-file=" + saKey,
			"--root-ca-file=" + caFile,
			"--cluster-signing-cert-file=" + caFile,
			"--cluster-signing-key-file=" + filepath.Join(paths.tls, "ca.key"),
			"--allocate-node-cidrs=true",
			"--cluster-cidr=" + clusterCIDR,
			"--service-cluster-ip-range=" + serviceCIDR,
			"--node-cidr-mask-size=24",
			"--configure-cloud-routes=false",
			"--controllers=*,tokencleaner",
			"--profiling=false",
		}
		cmArgs = append(cmArgs, componentArgs(s.list("kube-controller-manager-arg"))...)
		go func() {
			errs <- componentError("kube-controller-manager",
				runChild(ctx, "kube-controller-manager", cmArgs))
		}()
	}
	if !s.enabled("disable-scheduler") {
		schedArgs := []string{
			"--kubeconfig=" + kubeconfigs["client-scheduler"],
			"--authentication-kubeconfig=" + kubeconfigs["client-scheduler"],
			"--authorization-kubeconfig=" + kubeconfigs["client-scheduler"],
			"--bind-address=127.0.0.1",
			"--secure-port=0",
			"--leader-elect=false",
			"--profiling=false",
		}
		schedArgs = append(schedArgs, componentArgs(s.list("kube-scheduler-arg"))...)
		go func() {
			errs <- componentError("kube-scheduler", runChild(ctx, "kube-scheduler", schedArgs))
		}()
	}
	go runDeployController(ctx, addons, paths.manifests)
	if !s.enabled("disable-helm-controller") {
		go runHelmController(ctx, addons, kubeconfigs["client-k3s-server-addons"])
	}
	if !s.disabled("local-storage") {
		go runLocalPathProvisioner(ctx, addons, s.get("default-local-storage-path", filepath.Join(paths.data, "storage")))
	}
	if s.enabled("disable-agent") {
		notifySystemd("READY=1")
		return nil
	}
	agent := &agentConfig{
		settings:    s,
		role:        "server",
		serverURL:   localURL,
		password:    password,
		caPEM:       ca.certPEM,
		dataDir:     paths.data,
		clusterCIDR: clusterCIDR,
		clusterDNS:  s.get("cluster-dns", defaultClusterDNS),
		adminConfig: addons,
	}
	return agent.start(ctx, errs)
}

func componentError(name string, err error) error {
	if err == nil {
		return fmt.Errorf("%s exited", name)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// componentArgs turns k3s's "name=value" extra arguments into "--name=value".
func componentArgs(extra []string) []string {
	out := make([]string, 0, len(extra))
	for _, arg := range extra {
		out = append(out, "--"+strings.TrimLeft(arg, "-"))
	}
	return out
}

func firstServiceIP(cidr string) (net.IP, error) {
	_, network, err := net.ParseCIDR(cidr)
	if err != nil {
		return nil, configErrorf("service-cidr %q: %v", cidr, err)
	}
	ip := make(net.IP, len(network.IP))
	copy(ip, network.IP)
	ip[len(ip)-1]++
	return ip, nil
}

func writeKubeconfig(path, server string, caPEM []byte, certFile, keyFile string, mode os.FileMode) error {
	config := clientcmdapi.NewConfig()
	config.Clusters["default"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	config.AuthInfos["default"] = &clientcmdapi.AuthInfo{ClientCertificate: certFile, ClientKey: keyFile}
	config.Contexts["default"] = &clientcmdapi.Context{Cluster: "default", AuthInfo: "default"}
	config.CurrentContext = "default"
	data, err := clientcmd.Write(*config)
	if err != nil {
		return err
	}
	_, err = writeIfChanged(path, data, mode)
	return err
}

// writeAdminKubeconfig writes k3s.yaml with the admin credentials inline, as k3s does.
func writeAdminKubeconfig(s *settings, server string, caPEM []byte, files [2]string) error {
	cert, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	key, err := os.ReadFile(files[1])
	if err != nil {
		return err
	}
	config := clientcmdapi.NewConfig()
	config.Clusters["default"] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	config.AuthInfos["default"] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	config.Contexts["default"] = &clientcmdapi.Context{Cluster: "default", AuthInfo: "default"}
	config.CurrentContext = "default"
	data, err := clientcmd.Write(*config)
	if err != nil {
		return err
	}
	mode, err := strconv.ParseUint(s.get("write-kubeconfig-mode", "0600"), 8, 32)
	if err != nil {
		return configErrorf("write-kubeconfig-mode: %v", err)
	}
	path := s.get("write-kubeconfig", os.Getenv("K3S_KUBECONFIG_OUTPUT"))
	if path == "" {
		path = defaultKubeconfig
	}
	_, err = writeIfChanged(path, data, os.FileMode(mode))
	return err
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	config.QPS, config.Burst = 50, 100
	return config, nil
}

func waitForAPI(ctx context.Context, config *rest.Config, errs <-chan error) error {
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		result := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(ctx)
		var status int
		result.StatusCode(&status)
		if status == 200 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kube-apiserver not ready after 3 minutes (last status %d: %v)", status, result.Error())
		}
		select {
		case err := <-errs:
			return err
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}
