"""/etc/rancher/k3s/config.yaml as k3s reads it: every key is a command-line flag of the subcommand.

Real k3s logs "Unknown flag ... found in config.yaml, skipping"; the stand-in refuses instead, so that a
misspelt or misplaced key (a server-only key in an agent's file) fails the test that wrote it.
"""

import os
import re

import yaml

from k3s_standin import versions

CONFIG_FILE = "/etc/rancher/k3s/config.yaml"

# Flags of `k3s agent` (a server runs an agent too, so servers take them as well). A subset of k3s's.
AGENT_FLAGS = {
    "token",
    "token-file",
    "server",
    "data-dir",
    "node-name",
    "with-node-id",
    "node-label",
    "node-taint",
    "node-ip",
    "node-external-ip",
    "node-internal-dns",
    "node-external-dns",
    "image-credential-provider-bin-dir",
    "image-credential-provider-config",
    "kubelet-arg",
    "kube-proxy-arg",
    "snapshotter",
    "private-registry",
    "container-runtime-endpoint",
    "pause-image",
    "disable-default-registry-endpoint",
    "nonroot-devices",
    "debug",
    "v",
    "vmodule",
    "log",
    "alsologtostderr",
    "selinux",
    "lb-server-port",
    "protect-kernel-defaults",
    "resolv-conf",
    "flannel-iface",
    "flannel-conf",
    "flannel-cni-conf",
    "airgap-extra-registry",
    "rootless",
    "prefer-bundled-bin",
    "vpn-auth",
    "vpn-auth-file",
    "default-runtime",
    "system-default-registry",
}
SERVER_FLAGS = AGENT_FLAGS | {
    "cluster-init",
    "cluster-reset",
    "cluster-cidr",
    "service-cidr",
    "service-node-port-range",
    "cluster-dns",
    "cluster-domain",
    "flannel-backend",
    "flannel-ipv6-masq",
    "flannel-external-ip",
    "egress-selector-mode",
    "servicelb-namespace",
    "write-kubeconfig",
    "write-kubeconfig-mode",
    "write-kubeconfig-group",
    "tls-san",
    "tls-san-security",
    "bind-address",
    "advertise-address",
    "advertise-port",
    "https-listen-port",
    "agent-token",
    "agent-token-file",
    "datastore-endpoint",
    "disable",
    "disable-scheduler",
    "disable-cloud-controller",
    "disable-kube-proxy",
    "disable-network-policy",
    "disable-helm-controller",
    "disable-apiserver",
    "disable-controller-manager",
    "disable-etcd",
    "disable-agent",
    "embedded-registry",
    "kube-apiserver-arg",
    "etcd-arg",
    "kube-controller-manager-arg",
    "kube-scheduler-arg",
    "kube-cloud-controller-manager-arg",
    "secrets-encryption",
    "default-local-storage-path",
    "enable-pprof",
    "helm-job-image",
    "etcd-expose-metrics",
    "etcd-disable-snapshots",
    "etcd-snapshot-schedule-cron",
    "etcd-snapshot-retention",
    "etcd-snapshot-dir",
}
# Flags that arrived later than the oldest release the stand-in can pretend to be.
FLAG_SINCE = {"default-runtime": (1, 28, 5)}
LIST_FLAGS = {
    "node-label",
    "node-taint",
    "kubelet-arg",
    "kube-proxy-arg",
    "tls-san",
    "disable",
    "kube-apiserver-arg",
    "etcd-arg",
    "kube-controller-manager-arg",
    "kube-scheduler-arg",
    "kube-cloud-controller-manager-arg",
    "node-ip",
    "node-external-ip",
    "cluster-cidr",
    "service-cidr",
}
FLANNEL_BACKENDS = {"vxlan", "host-gw", "wireguard-native", "none", "ipsec", "wireguard"}
TAINT = re.compile(r"^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$")
LABEL = re.compile(r"^([A-Za-z0-9./_-]+)=([A-Za-z0-9._-]*)$")
# labels a kubelet may set on its own node (NodeRestriction), besides anything outside these namespaces
SELF_LABELS = {
    "kubernetes.io/hostname",
    "kubernetes.io/arch",
    "kubernetes.io/os",
    "beta.kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/instance-type",
    "node.kubernetes.io/instance-type",
    "topology.kubernetes.io/region",
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
}
SELF_LABEL_NAMESPACES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")


class ConfigError(Exception):
    pass


def load(role, version, path=CONFIG_FILE):
    """Read config.yaml for ROLE ('server' or 'agent') of k3s VERSION; returns {flag: value}."""
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            raise ConfigError("%s is not valid YAML: %s" % (path, exc)) from exc
    if not isinstance(data, dict):
        raise ConfigError("%s must be a mapping of flag names to values" % path)
    known = SERVER_FLAGS if role == "server" else AGENT_FLAGS
    config = {}
    for key, value in data.items():
        flag = str(key)[:-1] if str(key).endswith("+") else str(key)  # "node-label+" appends
        if flag not in known:
            raise ConfigError(
                "flag provided but not defined: -%s (in %s; `k3s %s` has no such flag)" % (flag, path, role)
            )
        if flag in FLAG_SINCE and not versions.at_least(version, FLAG_SINCE[flag]):
            raise ConfigError("flag provided but not defined: -%s (k3s %s predates it)" % (flag, version))
        if flag in LIST_FLAGS:
            value = [str(v) for v in value] if isinstance(value, list) else [v.strip() for v in str(value).split(",")]
            config[flag] = config.get(flag, []) + value
        else:
            config[flag] = value
    _check_values(config)
    return config


def _check_values(config):
    for taint in config.get("node-taint", []):
        if not TAINT.match(taint):
            raise ConfigError("invalid node-taint %r: want key[=value]:NoSchedule|PreferNoSchedule|NoExecute" % taint)
    for label in config.get("node-label", []):
        match = LABEL.match(label)
        if not match:
            raise ConfigError("invalid node-label %r: want key=value" % label)
        key = match.group(1)
        namespace = key.split("/")[0] if "/" in key else ""
        restricted = namespace.endswith(("kubernetes.io", "k8s.io"))
        if restricted and key not in SELF_LABELS and not key.startswith(SELF_LABEL_NAMESPACES):
            raise ConfigError(
                "node label %r is in a namespace a node may not set on itself (NodeRestriction); "
                "k3s fails to start with it" % key
            )
    backend = config.get("flannel-backend")
    if backend is not None and backend not in FLANNEL_BACKENDS:
        raise ConfigError("invalid flannel backend %r" % backend)
