"""site.yml's no-change fast path never hides a change made by hand on a node.

The common and k3s roles ask each node once (roverlab.clouddesktop.drift_check) whether anything differs from what
they would make, and skip their install and configure tasks when nothing does. Here a node is changed behind
Ansible's back, in what each role manages (a file's mode, a file removed, a live kernel parameter, a stale file
that must not be there), and the next site.yml must put every one of them back and then report no change again.
"""

import subprocess

from test_lab import PLAYBOOK, changed_hosts, run

NODE = "roverlab-rover2"  # the agent: a k3s-agent restart does not take the API server away


def node(*argv):
    proc = subprocess.run(["docker", "exec", NODE, *argv], capture_output=True, text=True, timeout=60, check=False)
    return proc.stdout.strip()


def test_site_puts_back_what_was_changed_by_hand(lab):
    run(PLAYBOOK, "site.yml")
    node("chmod", "0644", "/etc/rancher/k3s/config.yaml")
    node("touch", "/var/lib/rancher/k3s/agent/images/k3s-airgap-images-amd64.tar.gz")
    node("rm", "-f", "/etc/modules-load.d/roverlab-k3s.conf")
    node("sysctl", "-qw", "net.bridge.bridge-nf-call-ip6tables=0")

    fixed = run(PLAYBOOK, "site.yml")
    assert set(changed_hosts(fixed.stdout)) == {NODE}, fixed.stdout[-4000:]
    assert node("stat", "-c", "%a", "/etc/rancher/k3s/config.yaml") == "600"
    images = node("ls", "/var/lib/rancher/k3s/agent/images").split()
    assert "k3s-airgap-images-amd64.tar" in images and "k3s-airgap-images-amd64.tar.gz" not in images, images
    assert node("cat", "/etc/modules-load.d/roverlab-k3s.conf").splitlines()[-2:] == ["br_netfilter", "overlay"]
    assert node("sysctl", "-n", "net.bridge.bridge-nf-call-ip6tables") == "1"

    again = run(PLAYBOOK, "site.yml")
    assert changed_hosts(again.stdout) == {}, "the run after the repair changed something"
