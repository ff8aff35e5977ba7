"""The idle culler in the cluster, on the API tier: the desktop_culler role installs its CronJob, ServiceAccount and
least-privilege RBAC on a real API server; the runner shipped in its ConfigMap then runs with that ServiceAccount's
token and stops the idle desktop (replicas 0, annotations, an Event), never the busy ones, and never deletes.

The API tier has no kubelets, so no exec reaches a desktop: the runner reads each desktop's probe output from files
(--activity-dir, a STAND-IN for the exec into the desktop, with the desktop image's report format), and the pods are
reported running by the tests' kubelet stand-in (tests/kubeapi). The exec path itself runs on the lab's real pods
and, on a Docker host, in tests/integration/desktop_class.
"""

import json
import time

import pytest
from class_helpers import (
    CULLER_NS,
    NS,
    USERS,
    ServiceAccountClient,
    install_culler,
    run_pass,
    schedulable_node,
    shipped_runner,
)
from conftest import REPO


@pytest.fixture
def class_lab(lab):
    schedulable_node(lab.kube, "rover1", gpus=2)
    lab.users = [{"name": user, "cpu": "100m", "memory": "128Mi"} for user in USERS]
    lab.users[3]["gpu"] = 1
    result = lab.run("desktops")
    assert result.rc == 0, result
    lab.kube.start_pods(timeout=600)  # the scheduler waits for each volume (local-path, WaitForFirstConsumer)
    lab.kube.run_kubelets()
    return lab


def replicas(kube, user):
    return kube.get("/apis/apps/v1/namespaces/%s/deployments/%s-clouddesktop" % (NS, user))["spec"]["replicas"]


def test_culler_is_installed_with_least_privilege(class_lab, tmp_path):
    kube = class_lab.kube
    result = install_culler(class_lab)
    assert result.rc == 0, result
    cronjob = kube.get("/apis/batch/v1/namespaces/%s/cronjobs/desktop-culler" % CULLER_NS)
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "desktop-culler" and pod["securityContext"]["runAsNonRoot"] is True
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid" and cronjob["spec"]["schedule"] == "*/5 * * * *"
    labels = kube.get("/api/v1/namespaces/%s" % CULLER_NS)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    # the shipped rules are the collection's, unchanged
    shipped = kube.get("/api/v1/namespaces/%s/configmaps/desktop-culler" % CULLER_NS)["data"]
    assert shipped["idle.py"] == (REPO / "plugins/plugin_utils/_desktop/idle.py").read_text().rstrip("\n")
    assert str(json.loads(shipped["config.json"])["policy"]["idle_timeout"]) == "2"  # as given with -e

    client = ServiceAccountClient(kube, tmp_path)
    allowed = [
        ("list", "deployments", NS, None, None, "apps"),
        ("patch", "deployments", "clouddesktop-dev", "x-clouddesktop", None, "apps"),
        ("list", "pods", NS, None, None, ""),
        ("create", "pods", NS, "alice-pod", "exec", ""),
        ("create", "events", NS, None, None, ""),
        ("get", "configmaps", CULLER_NS, "desktop-culler-state", None, ""),
        ("update", "configmaps", CULLER_NS, "desktop-culler-state", None, ""),
    ]
    denied = [
        ("get", "secrets", NS, "alice-clouddesktop", None, ""),
        ("list", "secrets", NS, None, None, ""),
        ("delete", "deployments", NS, "alice-clouddesktop", None, "apps"),
        ("delete", "persistentvolumeclaims", NS, None, None, ""),
        ("create", "pods", NS, None, None, ""),
        ("list", "deployments", "kube-system", None, None, "apps"),
        ("create", "pods", "kube-system", "x", "exec", ""),
        ("update", "configmaps", CULLER_NS, "desktop-culler", None, ""),
        ("patch", "deployments", CULLER_NS, None, None, "apps"),
    ]
    for verb, resource, namespace, name, sub, group in allowed:
        assert client.can(verb, resource, namespace, name, sub, group), (verb, resource, namespace, name, sub)
    for verb, resource, namespace, name, sub, group in denied:
        assert not client.can(verb, resource, namespace, name, sub, group), (verb, resource, namespace, name, sub)
    assert client.get("/api/v1/namespaces/%s/secrets" % NS) == 403

    # a second run changes nothing
    again = install_culler(class_lab)
    assert again.rc == 0 and again.changed == 0, again


def test_culler_stops_the_idle_desktop_only(class_lab, tmp_path):
    kube = class_lab.kube
    assert install_culler(class_lab).rc == 0
    client = ServiceAccountClient(kube, tmp_path)
    code = shipped_runner(kube, tmp_path)
    activity = tmp_path / "activity"
    probes = {"alice": (0, 0, "none"), "bob": (0, 1, "none"), "carol": (1, 0, "none"), "dave": (0, 0, "87, 2048")}
    first = run_pass(code, client, activity, probes)
    assert "stop" not in [line.split(": ")[2].split(" ")[0] for line in first.splitlines() if ": clouddesktop" in line]
    time.sleep(2.5)
    second = run_pass(code, client, activity, probes)
    assert "clouddesktop-prod/alice: stop idle for" in second, second
    assert replicas(kube, "alice") == 0
    assert [replicas(kube, u) for u in ("bob", "carol", "dave")] == [1, 1, 1]
    # why, on the Deployment and as an Event; nothing deleted (volume, Secret, Service, Ingress stay)
    deployment = kube.get("/apis/apps/v1/namespaces/%s/deployments/alice-clouddesktop" % NS)
    annotations = deployment["metadata"]["annotations"]
    assert annotations["clouddesktop.roverlab.io/stopped-by"] == "desktop-culler"
    assert "idle for" in annotations["clouddesktop.roverlab.io/stopped-why"]
    events = [e for e in kube.items("/api/v1/namespaces/%s/events" % NS) if e["reason"] == "IdleStopped"]
    assert [e["involvedObject"]["name"] for e in events] == ["alice-clouddesktop"]
    assert "Stopped by the idle culler: idle for" in events[0]["message"]
    for path in (
        "/api/v1/namespaces/%s/persistentvolumeclaims/alice-clouddesktop-storage",
        "/api/v1/namespaces/%s/secrets/alice-clouddesktop",
        "/api/v1/namespaces/%s/services/alice-clouddesktop",
        "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/alice-clouddesktop",
    ):
        assert kube.get(path % NS) is not None, path
    state = json.loads(
        kube.get("/api/v1/namespaces/%s/configmaps/desktop-culler-state" % CULLER_NS)["data"]["state.json"]
    )
    assert "ROS running" in state["desktops"]["%s/bob" % NS]["why"]
    assert "1 noVNC connection" in state["desktops"]["%s/carol" % NS]["why"]
    assert "GPU at 87%" in state["desktops"]["%s/dave" % NS]["why"]
    assert state["desktops"]["%s/alice" % NS]["stopped_at"] > 0

    # the inventory says present: a reconcile keeps the culled desktop stopped
    result = class_lab.run("desktops")
    assert result.rc == 0, result
    assert replicas(kube, "alice") == 0

    # the activity ends: the ROS desktop is stopped in its turn
    probes["bob"] = (0, 0, "none")
    run_pass(code, client, activity, probes)
    time.sleep(2.5)
    third = run_pass(code, client, activity, probes)
    assert "clouddesktop-prod/bob: stop" in third, third
    assert replicas(kube, "bob") == 0 and replicas(kube, "carol") == 1


def test_desktop_with_never_is_kept_and_bad_settings_are_refused(class_lab, tmp_path):
    kube = class_lab.kube
    class_lab.users[0]["idle_timeout"] = "never"
    class_lab.users[1]["idle_timeout"] = "soon"
    class_lab.users[2]["idle_timeout"] = 0
    refused = install_culler(class_lab)
    assert refused.rc != 0
    assert "2 problem(s) in the idle culler's settings, nothing was changed" in refused.text, refused
    assert "desktop user 'bob': idle_timeout 'soon' must be seconds" in refused.text
    assert kube.get("/apis/batch/v1/namespaces/%s/cronjobs/desktop-culler" % CULLER_NS) is None
    del class_lab.users[1]["idle_timeout"], class_lab.users[2]["idle_timeout"]
    assert install_culler(class_lab).rc == 0
    client = ServiceAccountClient(kube, tmp_path)
    code = shipped_runner(kube, tmp_path)
    probes = dict.fromkeys(USERS, (0, 0, "none"))
    run_pass(code, client, tmp_path / "activity", probes)
    time.sleep(2.5)
    out = run_pass(code, client, tmp_path / "activity", probes)
    assert "clouddesktop-prod/alice: keep idle for" in out and "idle_timeout is never" in out, out
    assert replicas(kube, "alice") == 1
    assert [replicas(kube, u) for u in ("bob", "carol", "dave")] == [0, 0, 0]
