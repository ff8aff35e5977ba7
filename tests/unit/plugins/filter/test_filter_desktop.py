"""Desktop filters as playbooks use them: errors become filter errors, listings become tables."""

import base64
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.roverlab.clouddesktop.plugins.filter.desktop import (
    FilterModule,
    desktop_check,
    desktop_credentials,
    desktop_dns_changes,
    desktop_env,
    desktop_handout,
    desktop_options,
    desktop_password,
    desktop_plan,
    desktop_rows,
    desktop_table,
    desktop_tailnet_keys,
)

USER = "clouddesktop.roverlab.io/user"
NAMESPACES = {"prod": "clouddesktop-prod", "dev": "clouddesktop-dev"}


def meta(name, namespace, user, **extra):
    return dict({"name": name, "namespace": namespace, "labels": {USER: user}}, **extra)


def deployment(user, namespace="clouddesktop-prod", gpu=None, replicas=1):
    limits = {"cpu": "4", "memory": "8Gi"}
    if gpu:
        limits["nvidia.com/gpu"] = gpu
    container = {"name": "desktop", "resources": {"requests": {"cpu": "2", "memory": "4Gi"}, "limits": limits}}
    return {
        "metadata": meta("%s-clouddesktop" % user, namespace, user),
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def ingress(user, namespace="clouddesktop-prod", tls=False):
    rules = [
        {
            "host": "%s.%s.ros.example.org" % (app, user),
            "http": {"paths": [{"backend": {"service": {"port": {"name": port}}}}]},
        }
        for app, port in (("vnc", "novnc"), ("code", "code"))
    ]
    spec = {"rules": rules}
    if tls:
        spec["tls"] = [{"hosts": [r["host"] for r in rules]}]
    return {"metadata": meta("%s-clouddesktop" % user, namespace, user), "spec": spec}


def pod(user, phase, node="", created="2026-01-01T00:00:00Z", namespace="clouddesktop-prod", **status):
    return {
        "metadata": meta("%s-x" % user, namespace, user, creationTimestamp=created),
        "spec": {"nodeName": node} if node else {},
        "status": dict({"phase": phase}, **status),
    }


def test_rows_and_table():
    pending = pod(
        "bob",
        "Pending",
        namespace="clouddesktop-dev",
        conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
    )
    rows = desktop_rows(
        [deployment("bob", "clouddesktop-dev", gpu="1"), deployment("alice"), deployment("carol", replicas=0)],
        [
            pod("alice", "Running", "rover1", "2026-01-02T00:00:00Z"),
            pod("alice", "Running", "rover2", "2026-01-01T00:00:00Z"),
            pending,
        ],
        [ingress("alice", tls=True), ingress("bob", "clouddesktop-dev")],
        NAMESPACES,
    )
    assert [(r["user"], r["tier"], r["node"], r["gpu"], r["phase"]) for r in rows] == [
        ("alice", "prod", "rover1", "0", "Running"),
        ("bob", "dev", "", "1", "Pending (Unschedulable)"),
        ("carol", "prod", "", "0", "Stopped"),
    ]
    assert rows[0]["url"] == "https://vnc.alice.ros.example.org/"
    assert rows[0]["code_url"] == "https://code.alice.ros.example.org/"
    assert rows[1]["url"] == "http://vnc.bob.ros.example.org/"
    assert (rows[0]["cpu"], rows[0]["memory"]) == ("2-4", "4Gi-8Gi")
    table = desktop_table(rows)
    assert table[0].split() == ["USER", "TIER", "URL", "NODE", "CPU", "MEMORY", "GPU", "PHASE"]
    assert table[2].split()[:4] == ["bob", "dev", "http://vnc.bob.ros.example.org/", "-"]
    assert len({line.index("URL") if "URL" in line else None for line in table[:1]}) == 1


def test_rows_say_where_each_desktop_stands_on_the_tailnet_and_the_table_shows_it():
    tailnet = {
        "alice-clouddesktop": {"state": "online", "detail": "100.64.0.7"},
        "bob-clouddesktop": {"state": "key-expired", "detail": "its auth key is expired ...: re-key the desktop"},
    }
    rows = desktop_rows([deployment("alice"), deployment("bob"), deployment("carol")], [], [], NAMESPACES, tailnet)
    states = [(r["user"], r.get("tailnet")) for r in rows]
    assert states == [("alice", "online"), ("bob", "key-expired"), ("carol", None)]
    assert rows[1]["tailnet_detail"].endswith("re-key the desktop")
    table = desktop_table(rows)
    assert table[0].split()[-1] == "TAILNET"
    assert [line.split()[-1] for line in table[1:]] == ["online", "key-expired", "-"]
    # without tailnet states, no column
    assert "TAILNET" not in desktop_table(desktop_rows([deployment("alice")], [], []))[0]


def test_tailnet_keys_name_each_desktop_by_its_deployment_with_its_kept_key():
    live = [secret("bob", password="p", tailscale_authkey="tskey-kept")]
    desktops = [
        {"name": "alice", "namespace": "clouddesktop-prod"},
        {"name": "bob", "namespace": "clouddesktop-prod"},
        {"name": "carol", "namespace": "clouddesktop-prod"},
    ]
    assert desktop_tailnet_keys(desktops, live, {"carol": "tskey-own"}) == {
        "alice-clouddesktop": {"user": "alice", "key": ""},
        "bob-clouddesktop": {"user": "bob", "key": "tskey-kept"},
    }
    with pytest.raises(AnsibleFilterError):
        desktop_tailnet_keys("alice", live)


def test_a_desktop_without_pods_says_so():
    (row,) = desktop_rows([deployment("dave")], [], [])
    assert row["phase"] == "NoPod" and row["url"] == ""


def test_bad_desktops_are_returned_not_raised_so_that_a_task_reports_them_once():
    # an exception out of a filter is printed three times by Ansible 2.19's error chain; a result is not
    settings = {
        "namespaces": {"prod": "p"},
        "default_tier": "prod",
        "domain": "ros.example.org",
        "host_patterns": {"vnc": "{user}.{domain}", "code": "c{user}.{domain}"},
        "image": "example/desk",
        "image_tag": "1",
        "cpu": "1",
        "cpu_limit": "1",
        "memory": "1Gi",
        "memory_limit": "1Gi",
        "shm_size": "64Mi",
        "storage": "1Gi",
        "resolution": "800x600",
        "password_length": 20,
    }
    checked = desktop_check([{"name": "Alice"}], settings, "kubernetes")
    assert checked["message"].count("not a DNS label") == 1
    assert checked["message"].startswith("1 problem(s) in the desktop users, nothing was changed:")
    assert checked["desktops"] == []
    with pytest.raises(AnsibleFilterError, match="kubernetes or docker"):
        desktop_check([], settings, "podman")


def test_options_passwords_and_the_container_environment():
    assert desktop_options("kubernetes")[:3] == ["user", "state", "tier"]
    assert "slot" in desktop_options("docker") and "tier" not in desktop_options("docker")
    first, second = desktop_password(20), desktop_password(20)
    assert len(first) == 20 and first.isalnum() and first != second
    with pytest.raises(AnsibleFilterError, match="at least 12"):
        desktop_password(8)
    desktop = {
        "env": {"RESOLUTION": "800x600"},
        "secret_env": [
            {"name": "PASSWORD", "key": "password", "optional": False},
            {"name": "AUTHKEY", "key": "tailscale-authkey", "optional": True},
        ],
    }
    assert desktop_env(desktop, {"password": "pw", "tailscale-authkey": ""}) == {
        "RESOLUTION": "800x600",
        "PASSWORD": "pw",
    }
    assert desktop_env(desktop, {"password": "pw", "tailscale-authkey": "k"})["AUTHKEY"] == "k"


def test_credentials_need_a_long_enough_password():
    with pytest.raises(AnsibleFilterError, match="at least 12"):
        desktop_credentials([], [], length=8)


def test_dns_mode_is_checked():
    with pytest.raises(AnsibleFilterError, match="none, records or wildcard"):
        desktop_dns_changes([], [], "all", "ros.example.org", "203.0.113.1")


def test_all_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "desktop_check",
        "desktop_env",
        "desktop_options",
        "desktop_password",
        "desktop_plan",
        "desktop_credentials",
        "desktop_keys_to_issue",
        "desktop_tailnet_keys",
        "desktop_dns_changes",
        "desktop_handout",
        "desktop_rows",
        "desktop_table",
    }


def test_plan_reads_json_and_ignores_other_namespaces():
    live = {"Deployment": [deployment("alice", "clouddesktop-prod"), deployment("alice", "team-x")]}
    secrets = [{"metadata": meta("alice-clouddesktop", "team-x", "alice"), "data": {}}]
    wanted = [{"name": "alice", "state": "present", "namespace": "clouddesktop-prod", "gpu": 0, "storage": "30Gi"}]
    plan = desktop_plan(wanted, json.dumps(live), "nvidia.com/gpu", list(NAMESPACES.values()), json.dumps(secrets))
    assert plan["moves"] == [] and plan["conflicts"] == [] and plan["created"] == []
    everywhere = desktop_plan(wanted, live, "nvidia.com/gpu")
    assert everywhere["moves"][0]["from"] == "team-x"
    with pytest.raises(AnsibleFilterError, match="not valid JSON"):
        desktop_plan(wanted, "{", "nvidia.com/gpu")


def secret(user, namespace="clouddesktop-prod", **data):
    encoded = {k.replace("_", "-"): base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"metadata": meta("%s-clouddesktop" % user, namespace, user), "data": encoded}


def test_handout_lists_this_runs_desktops_and_every_other_one_the_cluster_runs():
    hosts = {"vnc": "vnc.erin.ros.example.org", "code": "code.erin.ros.example.org"}
    run = [
        {"name": "erin", "state": "present", "tier": "dev", "hosts": hosts},
        {"name": "zoe", "state": "absent", "tier": "prod", "hosts": {}},
    ]
    run_credentials = {"erin": {"password": "erin-password-1", "key_source": "hook"}}
    secrets = [
        secret("erin", "clouddesktop-prod", password="erin-old-namespace"),
        secret("zoe", password="zoe-password-12"),
        secret("bob", "clouddesktop-dev", password="bob-password-12", tailscale_authkey="tskey-shared"),
        secret("alice", password="alice-password", tailscale_authkey="tskey-alice"),
        secret("mallory", "team-x", password="not-a-desktop"),
    ]
    # dave was removed: his Secret is kept (with his volume) but he has no desktop, so no entry
    secrets.append(secret("dave", password="dave-password-1"))
    deployments = [deployment(u, ns) for u, ns in (("alice", "clouddesktop-prod"), ("bob", "clouddesktop-dev"))]
    live = {"Ingress": [ingress("alice", tls=True)], "Deployment": deployments}
    entries = desktop_handout(
        run, run_credentials, json.dumps(secrets), json.dumps(live), NAMESPACES, False, "tskey-shared"
    )
    assert entries == [
        {
            "user": "alice",
            "tier": "prod",
            "desktop_url": "https://vnc.alice.ros.example.org/",
            "vscode_url": "https://code.alice.ros.example.org/",
            "password": "alice-password",
            "tailscale": "own key",
        },
        {
            "user": "bob",
            "tier": "dev",
            "desktop_url": "",
            "vscode_url": "",
            "password": "bob-password-12",
            "tailscale": "shared key",
        },
        {
            "user": "erin",
            "tier": "dev",
            "desktop_url": "http://vnc.erin.ros.example.org/",
            "vscode_url": "http://code.erin.ros.example.org/",
            "password": "erin-password-1",
            "tailscale": "own key",
        },
    ]


def test_a_pending_desktop_says_what_is_short():
    message = (
        "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 Insufficient cpu, 1 node(s) were unschedulable. "
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
    )
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
    (row,) = desktop_rows([deployment("bob")], [pod("bob", "Pending", conditions=[condition])], [])
    assert row["phase"] == "Pending (Unschedulable: Insufficient cpu, Insufficient nvidia.com/gpu)"
    # no resource is short: the scheduler's own reasons
    condition["message"] = "0/1 nodes are available: 1 node(s) had untolerated taint {gpu: only}."
    (row,) = desktop_rows([deployment("bob")], [pod("bob", "Pending", conditions=[condition])], [])
    assert row["phase"] == "Pending (Unschedulable: node(s) had untolerated taint {gpu: only})"
    # as Kubernetes 1.35's scheduler words it
    condition["message"] = (
        "0/1 nodes are available: 1 Insufficient cpu. no new claims to deallocate, preemption: 0/1 nodes are "
        "available: 1 No preemption victims found for incoming pod."
    )
    (row,) = desktop_rows([deployment("bob")], [pod("bob", "Pending", conditions=[condition])], [])
    assert row["phase"] == "Pending (Unschedulable: Insufficient cpu)"
