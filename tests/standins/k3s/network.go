package main

// The node network: STAND-IN for flannel (k3s's default CNI, not available as a Go module here), shaped
// like flannel's host-gw backend. Pods get addresses from Debian's bridge and host-local CNI plugins in the
// node's podCIDR (allocated by kube-controller-manager); every node routes the other nodes' podCIDRs via
// their InternalIP, read from the Node objects. kube-proxy (iptables mode) does the Services. Like flannel
// (ipMasq, on in k3s), traffic from a pod to anything outside the cluster CIDR leaves with the node's address:
// without it a desktop pod reaches no address beyond the nodes (the lab's tailnet server among them).

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

const cniConfName = "10-roverlab-hostgw.conflist"

type nodeNetwork struct {
	client      kubernetes.Interface
	name        string
	dataDir     string
	cniDir      string
	clusterCIDR string
	routes      map[string]string // podCIDR -> gateway we set
}

// The nat chain of the pods' egress masquerade (flannel's is FLANNEL-POSTRTG).
const masqueradeChain = "ROVERLAB-POSTRTG"

// masquerade makes traffic from the cluster CIDR to outside it leave with the node's address; pod to pod
// traffic keeps its addresses. The chain is rebuilt at every start.
func (n *nodeNetwork) masquerade() error {
	iptables := func(args ...string) error {
		out, err := exec.Command("iptables", append([]string{"-w", "-t", "nat"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if iptables("-L", masqueradeChain, "-n") != nil {
		if err := iptables("-N", masqueradeChain); err != nil {
			return err
		}
	}
	jump := []string{"POSTROUTING", "-m", "comment", "--comment", "roverlab pod egress", "-j", masqueradeChain}
	if iptables(append([]string{"-C"}, jump...)...) != nil {
		if err := iptables(append([]string{"-A"}, jump...)...); err != nil {
			return err
		}
	}
	rules := [][]string{
		{"-F", masqueradeChain},
		{"-A", masqueradeChain, "-s", n.clusterCIDR, "-d", n.clusterCIDR, "-j", "RETURN"},
		{"-A", masqueradeChain, "-s", n.clusterCIDR, "!", "-d", "224.0.0.0/4", "-j", "MASQUERADE", "--random-fully"},
	}
	for _, rule := range rules {
		if err := iptables(rule...); err != nil {
			return err
		}
	}
	logf("network: pods' traffic beyond %s masqueraded (nat %s)", n.clusterCIDR, masqueradeChain)
	return nil
}

func (n *nodeNetwork) run(ctx context.Context) {
	n.routes = map[string]string{}
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0o644); err != nil {
		logf("network: enabling IP forwarding: %v", err)
	}
	if err := n.masquerade(); err != nil {
		logf("network: %v", err)
	}
	for {
		if err := n.sync(ctx); err != nil {
			logf("network: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
	}
}

func internalIP(node *corev1.Node) string {
	for _, address := range node.Status.Addresses {
		if address.Type == corev1.NodeInternalIP {
			return address.Address
		}
	}
	return ""
}

func (n *nodeNetwork) sync(ctx context.Context) error {
	nodes, err := n.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for i := range nodes.Items {
		node := &nodes.Items[i]
		if node.Spec.PodCIDR == "" {
			continue
		}
		if node.Name == n.name {
			if err := n.writeCNIConfig(node.Spec.PodCIDR); err != nil {
				return err
			}
			continue
		}
		gateway := internalIP(node)
		if gateway == "" || n.routes[node.Spec.PodCIDR] == gateway {
			continue
		}
		_, dst, err := net.ParseCIDR(node.Spec.PodCIDR)
		if err != nil {
			return err
		}
		route := &netlink.Route{Dst: dst, Gw: net.ParseIP(gateway)}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("route %s via %s (node %s): %w", node.Spec.PodCIDR, gateway, node.Name, err)
		}
		n.routes[node.Spec.PodCIDR] = gateway
		logf("network: route %s via %s (node %s)", node.Spec.PodCIDR, gateway, node.Name)
	}
	return nil
}

func (n *nodeNetwork) writeCNIConfig(podCIDR string) error {
	conf := map[string]interface{}{
		"cniVersion": "1.0.0",
		"name":       "cbr0",
		"plugins": []interface{}{
			map[string]interface{}{
				"type":             "bridge",
				"bridge":           "cni0",
				"isGateway":        true,
				"isDefaultGateway": true,
				"ipMasq":           false,
				"hairpinMode":      true,
				"forceAddress":     true,
				"ipam": map[string]interface{}{
					"type":    "host-local",
					"ranges":  [][]map[string]string{{{"subnet": podCIDR}}},
					"dataDir": "/var/lib/cni/networks",
				},
			},
			map[string]interface{}{"type": "portmap", "capabilities": map[string]bool{"portMappings": true}},
		},
	}
	data, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(n.cniDir, 0o755); err != nil {
		return err
	}
	written, err := writeIfChanged(filepath.Join(n.cniDir, cniConfName), append(data, '\n'), 0o644)
	if written {
		logf("network: pod network %s on bridge cni0 (%s)", podCIDR, filepath.Join(n.cniDir, cniConfName))
	}
	return err
}
