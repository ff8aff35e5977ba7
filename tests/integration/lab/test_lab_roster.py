"""A class of 30 from a CSV roster on the lab's real Kubernetes (issue 10's acceptance): the desktops are real pods of
the collection's image in the two rover node containers, each with its own tailnet key from the lab's headscale.

Check mode shows 30 creates and changes nothing; the real run makes 30 desktops and 30 handouts only the admin can
read; a second run reports changed=0; 3 students leave: each volume is archived (real files, checked by SHA-256) and
the desktop stopped; a purge needs the confirmation naming exactly those 3. The roster's size `lab` asks for little
CPU and memory so that 30 desktops fit two container nodes on one small machine (their limits stay 1 CPU, 1 GiB).
The test removes the 27 others through the API at the end (the roster's own removal of 27 would archive each one).
"""

import json
import stat

from test_lab import KUBECONFIG, PLAYBOOK, api_get, changed_hosts, run, running
from testkit import wait_for

NS = "clouddesktop-prod"
STUDENTS = ["s%02d" % i for i in range(1, 31)]
LEAVING = ["s04", "s17", "s30"]
SIZES = {"lab": {"cpu": "20m", "memory": "64Mi", "cpu_limit": "1", "memory_limit": "1Gi", "storage": "1Gi"}}


def write_roster(path, students):
    rows = ["user,environment,size,gpu,email,key"] + ["%s,prod,lab,0,%s@example.edu," % (s, s) for s in students]
    path.write_text("\n".join(rows) + "\n")
    return path


def roster_run(settings, roster, *extra, check=True):
    return run(PLAYBOOK, "roverlab.clouddesktop.roster", "-e", "roster=%s" % roster, "-e", "@%s" % settings, *extra,
               check=check)  # fmt: skip


def deployments():
    found = api_get("/apis/apps/v1/namespaces/%s/deployments" % NS)["items"]
    return {d["metadata"]["name"][: -len("-clouddesktop")]: d["spec"]["replicas"] for d in found}


def running_pods(users):
    pods = api_get("/api/v1/namespaces/%s/pods" % NS)["items"]
    return {p["metadata"]["labels"].get("app.kubernetes.io/instance") for p in pods if running(p)} >= set(users)


def remove_students(users):
    """The students' objects deleted through the API (kubectl), volumes included."""
    from kubernetes import client, config

    api = config.new_client_from_config(str(KUBECONFIG))
    apps, core, net = client.AppsV1Api(api), client.CoreV1Api(api), client.NetworkingV1Api(api)
    for user in users:
        name = "%s-clouddesktop" % user
        for delete in (apps.delete_namespaced_deployment, core.delete_namespaced_service, core.delete_namespaced_secret,
                       net.delete_namespaced_ingress, net.delete_namespaced_network_policy,
                       core.delete_namespaced_persistent_volume_claim):  # fmt: skip
            target = name + "-storage" if delete == core.delete_namespaced_persistent_volume_claim else name
            try:
                delete(target, NS)
            except client.exceptions.ApiException as exc:
                if exc.status != 404:
                    raise


def test_a_class_of_30_on_the_lab_from_check_mode_to_offboarding(lab, tmp_path):
    handouts, backups = tmp_path / "handouts", tmp_path / "backups"
    settings = tmp_path / "class.json"
    settings.write_text(
        json.dumps(
            {
                "cloud_desktop_roster_handout_dir": str(handouts),
                "cloud_desktop_backup_dir": str(backups),
                "cloud_desktop_roster_sizes": SIZES,
                "cloud_desktop_roster_default_size": "lab",
            }
        )
    )
    roster = write_roster(tmp_path / "class.csv", STUDENTS)
    remove_students(STUDENTS)  # an interrupted earlier run's, on a lab that stayed up
    wait_for(lambda: not set(STUDENTS) & set(deployments()), timeout=120, interval=2, what="earlier students gone")
    before = deployments()
    try:
        check = roster_run(settings, roster, "--check", "--diff")
        assert "Creates (30): %s." % ", ".join(STUDENTS) in " ".join(check.stdout.split()), check.stdout[-3000:]
        assert changed_hosts(check.stdout)  # what it would change, shown
        assert deployments() == before and not handouts.exists(), "check mode changed something"

        roster_run(settings, roster)
        created = deployments()
        assert {s: created.get(s) for s in STUDENTS} == dict.fromkeys(STUDENTS, 1)
        assert stat.S_IMODE(handouts.stat().st_mode) == 0o700
        assert sorted(p.name for p in handouts.glob("*.txt")) == ["%s.txt" % s for s in STUDENTS]
        for name in ("s01", "s30"):
            handout = handouts / ("%s.txt" % name)
            assert stat.S_IMODE(handout.stat().st_mode) == 0o600
            assert "http://vnc.%s.ros.lab.test/" % name in handout.read_text()
            # each one's own key, from the lab's headscale
            assert "joins the lab's tailnet with its own key" in handout.read_text()
        assert changed_hosts(roster_run(settings, roster).stdout) == {}

        # the students who leave have used their desktops: their pods run and their volumes hold the seeded files
        wait_for(lambda: running_pods(LEAVING), timeout=600, interval=5, what="the leaving students' pods to run")
        write_roster(roster, [s for s in STUDENTS if s not in LEAVING])
        offboard = roster_run(settings, roster)
        text = " ".join(offboard.stdout.split())
        assert "Removals (3): s04, s17, s30: backed up first (s04, s17, s30), then stopped" in text, text[-3000:]
        state = deployments()
        assert {s: state[s] for s in LEAVING} == dict.fromkeys(LEAVING, 0)
        assert all(state[s] == 1 for s in STUDENTS if s not in LEAVING)
        for name in LEAVING:
            (archive,) = backups.glob("%s-*.tar.gz" % name)
            assert (backups / (archive.name + ".sha256")).read_text().split()[0]
            assert archive.stat().st_size > 10000, "an empty archive of %s" % name
        saved = json.loads((handouts / "roster-state.json").read_text())
        assert sorted(saved["offboarded"]) == LEAVING

        refused = roster_run(settings, roster, "-e", "purge_data=true", "-e", "confirm_purge=s04,s17", check=False)
        assert refused.returncode != 0 and "exactly those" in " ".join(refused.stdout.split())
        roster_run(settings, roster, "-e", "purge_data=true", "-e", "confirm_purge=s30,s04,s17")
        assert sorted(set(deployments()) - set(before)) == [s for s in STUDENTS if s not in LEAVING]
        for name in LEAVING:
            assert api_get("/api/v1/namespaces/%s/persistentvolumeclaims/%s-clouddesktop-storage" % (NS, name)) is None
    finally:
        remove_students(STUDENTS)
    assert set(deployments()) == set(before)
