"""Refusals that must hold for every desktop playbook, each before anything changes (issue 12: 8-12, 14, 16).

Runs against the API server of the conftest fixture, and moto for Route53 (a stand-in). The Pending reason
comes from the fixture's scheduler: re-check its wording on the real API server when the fixture runs one.
"""

import time

import pytest

PROD = "clouddesktop-prod"


def desktop_objects(kube):
    """What the desktop roles may change (the nodes' status moves on by itself on a real API server)."""
    return [found for found in kube.all_objects() if found[0] != "/api/v1/nodes"]


def failure_message(result):
    """The `msg` of the failed task, as the yaml callback prints it (one block)."""
    lines = result.output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("msg:"))
    indent = len(lines[start]) - len(lines[start].lstrip())
    body = [lines[start].split("msg:", 1)[1].strip()]
    for line in lines[start + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line.strip())
    return " ".join(part for part in body if part and part not in ("|-", "|", ">-"))


def test_desktop_yml_refuses_what_desktops_yml_refuses(lab, kube):
    lab.users = [{"name": "alice"}, {"name": "alice", "cpu": 2}, {"name": "bob"}]
    full = lab.run("desktops")
    assert full.rc != 0 and "declared twice (entries #1 and #2)" in full.text, full
    for user in ("alice", "bob"):
        one = lab.run("desktop", "-e", "user=%s" % user)
        assert one.rc != 0, one
        assert failure_message(one) == failure_message(full)
    assert kube.items("/apis/apps/v1/deployments") == []
    assert kube.items("/api/v1/namespaces/%s/secrets" % PROD) == []


def test_gpus_must_fit_on_one_node(lab, kube):
    kube.add_node("rover1", gpus=1)
    kube.add_node("rover2", gpus=1)
    lab.users = [{"name": "carol", "gpu": 2}]
    before = desktop_objects(kube)
    refused = lab.run("desktops")
    assert refused.rc != 0, refused
    assert (
        "No node can hold carol (2 on one node): rover1 could take 1 (of 1), rover2 could take 1 (of 1). "
        "Nothing was changed." in refused.text
    )
    assert "Not enough free" not in refused.text  # the cluster has two: it is the node that is too small
    assert desktop_objects(kube) == before
    # one GPU each for two desktops fits, one per node
    lab.users = [{"name": "carol", "gpu": 1}, {"name": "dave", "gpu": 1}]
    placed = lab.run("desktops")
    assert placed.rc == 0 and "carol fits on rover1, dave fits on rover2" in placed.text, placed


def test_a_missing_route53_zone_stops_the_run_before_the_cluster_changes(dns_lab, kube):
    dns_lab.settings.update(cloud_desktop_route53_zone="example.com", cloud_desktop_domain="ros.example.com")
    dns_lab.users = [{"name": "alice"}]
    before = desktop_objects(kube)
    result = dns_lab.run("desktops")
    assert result.rc != 0, result
    assert "Route53 has no zone named example.com" in result.text and "Nothing was changed." in result.text
    assert desktop_objects(kube) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("default", "'default' is a reserved name"),
        ("kube-system", "'kube-system' starts with 'kube-', which Kubernetes reserves"),
        ("alice-backup", "'alice-backup' ends with '-backup'"),
    ],
)
def test_reserved_names_are_refused(lab, kube, name, message):
    lab.users = [{"name": name}]
    before = desktop_objects(kube)
    result = lab.run("desktops")
    assert result.rc != 0 and message in result.text, result
    assert desktop_objects(kube) == before
    lab.users = []
    one = lab.run("desktop", "-e", "user=%s" % name)
    assert one.rc != 0 and message in one.text, one


def test_a_bad_name_is_reported_once_in_a_short_message(lab, kube):
    lab.users = [{"name": "Alice"}, {"name": "bob", "memroy": "4Gi"}]
    result = lab.run("desktops")
    assert result.rc != 0
    assert result.output.count("'Alice' is not a DNS label") == 1, result.output
    assert result.output.count("unknown key(s) memroy") == 1, result.output
    # the problems once (the failing task only counts them): a dozen lines, where one bad name took sixty
    refusal = result.output[result.output.index("List the problems") : result.output.index("PLAY RECAP")]
    assert len(refusal.strip().splitlines()) <= 20, refusal
    assert "2 problem(s) in the desktop users, listed above; nothing was changed." in result.text


def test_both_targets_give_the_same_message_for_the_same_bad_entries(lab, kube):
    lab.users = [{"name": "Bob_1"}, {"name": "carol", "cpu": "lots", "gpu": "auto"}, {"name": "kube-x"}]
    cluster = lab.run("desktops")
    # the Docker-host role checks the same list before it asks Docker anything (localhost as the host)
    docker = lab.run("desktop_docker", "-e", "desktop_docker_hosts=localhost")
    assert cluster.rc != 0 and docker.rc != 0, docker
    assert failure_message(cluster).startswith("4 problem(s) in the desktop users, nothing was changed:")
    assert failure_message(docker) == failure_message(cluster)


def test_a_pending_desktop_shows_what_is_short(lab, kube):
    kube.add_node("rover1", cpu="4", memory="32Gi")
    # a Ready node loses the not-ready taint it was registered with (the node lifecycle controller's part,
    # which the fixture's control plane leaves out), so that the scheduler judges bob by his CPU alone
    kube.request("PATCH", "/api/v1/nodes/rover1", {"spec": {"taints": None}}, "application/merge-patch+json")
    lab.users = [{"name": "bob", "cpu": "16"}]
    assert lab.run("desktops").rc == 0

    def phase():
        pods = kube.items("/api/v1/namespaces/%s/pods" % PROD)
        conditions = [c for p in pods for c in (p.get("status") or {}).get("conditions") or []]
        return any(c.get("type") == "PodScheduled" and c.get("status") == "False" for c in conditions)

    deadline = time.monotonic() + 60
    while not phase():
        assert time.monotonic() < deadline, "the scheduler did not report bob's pod as unschedulable"
        time.sleep(0.5)
    listing = lab.run("desktop_list")
    # the table's line for bob, folded: user, tier, URL, node, CPU, memory, GPU, phase
    assert "bob prod http://vnc.bob.ros.example.org/ - 16 4Gi-8Gi 0 Pending (Unschedulable: Insufficient cpu)" in (
        listing.text.replace("'", "")
    ), listing
