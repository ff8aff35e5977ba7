package main

// config.yaml and command-line flags, read the way k3s reads them: every key of /etc/rancher/k3s/config.yaml
// is a flag of the subcommand, "key+" appends to a list flag, and flags on the command line win.
// Real k3s logs "Unknown flag ... found in config.yaml, skipping"; the stand-in refuses instead, so that a
// misspelt or misplaced key (a server-only key in an agent's file) fails the test that wrote it.

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

const defaultConfigFile = "/etc/rancher/k3s/config.yaml"

// Flags of `k3s agent` (a server runs an agent too, so servers take them as well). A subset of k3s's.
var agentFlags = setOf(
	"config", "token", "token-file", "server", "data-dir", "node-name", "with-node-id", "node-label", "node-taint",
	"node-ip", "node-external-ip", "node-internal-dns", "node-external-dns", "image-credential-provider-bin-dir",
	"image-credential-provider-config", "kubelet-arg", "kube-proxy-arg", "snapshotter", "private-registry",
	"container-runtime-endpoint", "pause-image", "disable-default-registry-endpoint", "nonroot-devices", "debug",
	"v", "vmodule", "log", "alsologtostderr", "selinux", "lb-server-port", "protect-kernel-defaults",
	"resolv-conf", "flannel-iface", "flannel-conf", "flannel-cni-conf", "airgap-extra-registry", "rootless",
	"prefer-bundled-bin", "vpn-auth", "vpn-auth-file", "default-runtime", "system-default-registry",
)

var serverOnlyFlags = setOf(
	"cluster-init", "cluster-reset", "cluster-cidr", "service-cidr", "service-node-port-range", "cluster-dns",
	"cluster-domain", "flannel-backend", "flannel-ipv6-masq", "flannel-external-ip", "egress-selector-mode",
	"servicelb-namespace", "write-kubeconfig", "write-kubeconfig-mode", "write-kubeconfig-group", "tls-san",
	"tls-san-security", "bind-address", "advertise-address", "advertise-port", "https-listen-port", "agent-token",
	"agent-token-file", "datastore-endpoint", "disable", "disable-scheduler", "disable-cloud-controller",
	"disable-kube-proxy", "disable-network-policy", "disable-helm-controller", "disable-apiserver",
	"disable-controller-manager", "disable-etcd", "disable-agent", "embedded-registry", "kube-apiserver-arg",
	"etcd-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kube-cloud-controller-manager-arg",
	"secrets-encryption", "default-local-storage-path", "enable-pprof", "helm-job-image", "etcd-expose-metrics",
	"etcd-disable-snapshots", "etcd-snapshot-schedule-cron", "etcd-snapshot-retention", "etcd-snapshot-dir",
)

var listFlags = setOf(
	"node-label", "node-taint", "kubelet-arg", "kube-proxy-arg", "tls-san", "disable", "kube-apiserver-arg",
	"etcd-arg", "kube-controller-manager-arg", "kube-scheduler-arg", "kube-cloud-controller-manager-arg", "node-ip",
	"node-external-ip", "cluster-cidr", "service-cidr",
)

// Boolean flags: on the command line they take no value.
var boolFlags = setOf(
	"cluster-init", "cluster-reset", "disable-scheduler", "disable-cloud-controller", "disable-kube-proxy",
	"disable-network-policy", "disable-helm-controller", "disable-apiserver", "disable-controller-manager",
	"disable-etcd", "disable-agent", "embedded-registry", "secrets-encryption", "enable-pprof", "debug",
	"with-node-id", "selinux", "protect-kernel-defaults", "rootless", "prefer-bundled-bin",
	"disable-default-registry-endpoint", "flannel-ipv6-masq", "flannel-external-ip", "etcd-expose-metrics",
	"etcd-disable-snapshots", "alsologtostderr",
)

// Flags that arrived later than the oldest release the stand-in can pretend to be.
var flagSince = map[string][3]int{"default-runtime": {1, 28, 5}}

var flannelBackends = setOf("vxlan", "host-gw", "wireguard-native", "none", "ipsec", "wireguard")

var (
	taintPattern = regexp.MustCompile(`^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$`)
	labelPattern = regexp.MustCompile(`^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$`)
)

func setOf(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, name := range names {
		set[name] = true
	}
	return set
}

// settings is the merged configuration of one `k3s server` or `k3s agent`.
type settings struct {
	role   string
	values map[string]string
	lists  map[string][]string
}

func (s *settings) get(flag, fallback string) string {
	if value, ok := s.values[flag]; ok && value != "" {
		return value
	}
	return fallback
}

func (s *settings) list(flag string) []string { return s.lists[flag] }

func (s *settings) enabled(flag string) bool {
	value := strings.ToLower(s.values[flag])
	return value == "true" || value == "1" || value == "yes"
}

func (s *settings) disabled(component string) bool {
	for _, name := range s.lists["disable"] {
		if name == component {
			return true
		}
	}
	return false
}

type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

func configErrorf(format string, args ...interface{}) error {
	return &configError{fmt.Sprintf(format, args...)}
}

func knownFlag(role, flag string) bool {
	return agentFlags[flag] || (role == "server" && serverOnlyFlags[flag])
}

// loadSettings reads config.yaml (or --config) and the command line of ROLE for k3s VERSION.
func loadSettings(role, version string, args []string) (*settings, error) {
	s := &settings{role: role, values: map[string]string{}, lists: map[string][]string{}}
	cli := &settings{role: role, values: map[string]string{}, lists: map[string][]string{}}
	if err := parseArgs(cli, args); err != nil {
		return nil, err
	}
	path := cli.get("config", os.Getenv("K3S_CONFIG_FILE"))
	if path == "" {
		path = defaultConfigFile
	}
	if err := readConfigFile(s, path, version); err != nil {
		return nil, err
	}
	for flag, value := range cli.values {
		s.values[flag] = value
	}
	for flag, values := range cli.lists {
		s.lists[flag] = values
	}
	if err := checkValues(s); err != nil {
		return nil, err
	}
	return s, nil
}

func parseArgs(s *settings, args []string) error {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if !strings.HasPrefix(arg, "-") {
			return configErrorf("k3s %s: unexpected argument %q", s.role, arg)
		}
		flag := strings.TrimLeft(arg, "-")
		value, hasValue := "", false
		if eq := strings.Index(flag, "="); eq >= 0 {
			flag, value, hasValue = flag[:eq], flag[eq+1:], true
		}
		if !knownFlag(s.role, flag) {
			return configErrorf("flag provided but not defined: -%s (`k3s %s` has no such flag)", flag, s.role)
		}
		if !hasValue {
			if boolFlags[flag] {
				value = "true"
			} else if i+1 < len(args) {
				i++
				value = args[i]
			} else {
				return configErrorf("flag needs an argument: -%s", flag)
			}
		}
		if listFlags[flag] && strings.HasSuffix(flag, "-arg") {
			s.lists[flag] = append(s.lists[flag], value) // "name=a,b": one argument with commas in its value
		} else if listFlags[flag] {
			s.lists[flag] = append(s.lists[flag], splitList(value)...)
		} else {
			s.values[flag] = value
		}
	}
	return nil
}

func splitList(value string) []string {
	var out []string
	for _, part := range strings.Split(value, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func readConfigFile(s *settings, path, version string) error {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var raw map[string]interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return configErrorf("%s is not valid YAML: %v", path, err)
	}
	keys := make([]string, 0, len(raw))
	for key := range raw {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		flag := strings.TrimSuffix(key, "+") // "node-label+" appends
		if !knownFlag(s.role, flag) {
			return configErrorf("flag provided but not defined: -%s (in %s; `k3s %s` has no such flag)", flag, path, s.role)
		}
		if since, ok := flagSince[flag]; ok && !versionAtLeast(version, since) {
			return configErrorf("flag provided but not defined: -%s (k3s %s predates it)", flag, version)
		}
		value := raw[key]
		if listFlags[flag] {
			switch v := value.(type) {
			case []interface{}:
				for _, item := range v {
					s.lists[flag] = append(s.lists[flag], fmt.Sprint(item))
				}
			default:
				s.lists[flag] = append(s.lists[flag], splitList(fmt.Sprint(v))...)
			}
			continue
		}
		switch v := value.(type) {
		case float64:
			s.values[flag] = strings.TrimSuffix(fmt.Sprintf("%f", v), ".000000")
		default:
			s.values[flag] = fmt.Sprint(v)
		}
	}
	return nil
}

// Labels a kubelet may set on its own node (NodeRestriction); the kubelet itself enforces this too.
var selfLabels = setOf(
	"kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/arch",
	"beta.kubernetes.io/os", "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
	"topology.kubernetes.io/region", "topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
	"failure-domain.beta.kubernetes.io/zone",
)

func checkValues(s *settings) error {
	for _, taint := range s.list("node-taint") {
		if !taintPattern.MatchString(taint) {
			return configErrorf("invalid node-taint %q: want key[=value]:NoSchedule|PreferNoSchedule|NoExecute", taint)
		}
	}
	for _, label := range s.list("node-label") {
		match := labelPattern.FindStringSubmatch(label)
		if match == nil {
			return configErrorf("invalid node-label %q: want key=value", label)
		}
		key := match[1]
		namespace := ""
		if slash := strings.Index(key, "/"); slash >= 0 {
			namespace = key[:slash]
		}
		restricted := strings.HasSuffix(namespace, "kubernetes.io") || strings.HasSuffix(namespace, "k8s.io")
		if restricted && !selfLabels[key] && !strings.HasPrefix(key, "kubelet.kubernetes.io/") &&
			!strings.HasPrefix(key, "node.kubernetes.io/") {
			return configErrorf("node label %q is in a namespace a node may not set on itself (NodeRestriction); "+
				"the kubelet refuses to start with it", key)
		}
	}
	if backend, ok := s.values["flannel-backend"]; ok && !flannelBackends[backend] {
		return configErrorf("invalid flannel backend %q", backend)
	}
	return nil
}
