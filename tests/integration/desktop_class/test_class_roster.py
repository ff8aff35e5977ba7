"""A class from a CSV roster against the test's API server: 30 students in check mode (30 creates, nothing changed),
for real (30 desktops, 30 handouts only the admin can read), again (changed=0); 3 students leave (backed up, then
stopped, and purged only with the confirmation naming exactly them); every bad row reported at once by line number.

The API tier has no kubelets and no local-path provisioner, so a volume is never bound and holds no data here: the
offboarding's backup step finds nothing to archive and says so. The backup of real data, byte for byte, is tested on
a Docker host (molecule desktop_docker) and on the lab's real pods (tests/integration/lab: test_lab_class.py,
test_lab_roster.py).
"""

import json
import stat

NS = "clouddesktop-prod"
STUDENTS = ["s%02d" % i for i in range(1, 31)]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx9k5d0cQx5 %s@laptop"


def write_roster(path, students, extra_rows=()):
    lines = ["user,environment,size,gpu,email,key"]
    for i, name in enumerate(students):
        key = KEY % name if i % 3 == 0 else ""
        lines.append("%s,prod,,0,%s@example.edu,%s" % (name, name, key))
    lines.extend(extra_rows)
    path.write_text("\n".join(lines) + "\n")
    return path


def set_up(lab):
    lab.settings.update(
        cloud_desktop_roster_handout_dir=str(lab.tmp_path / "handouts"),
        cloud_desktop_backup_dir=str(lab.tmp_path / "backups"),
        cloud_desktop_roster_sizes={"tiny": {"cpu": "50m", "memory": "64Mi"}, "big": {"cpu": "2", "memory": "2Gi"}},
        cloud_desktop_roster_default_size="tiny",
    )
    # left not ready for pods (the admission's taint kept): no pod is scheduled, so no volume is bound (see above)
    lab.kube.add_node("rover1", cpu="64", memory="256Gi", schedulable=False)


def cluster_objects(kube):
    """What a roster run may change (a Node's status moves on by itself on a real API server)."""
    return [found for found in kube.all_objects() if found[0] != "/api/v1/nodes"]


def deployments(kube):
    return {
        d["metadata"]["name"][: -len("-clouddesktop")]: d["spec"]["replicas"]
        for d in kube.items("/apis/apps/v1/namespaces/%s/deployments" % NS)
    }


def test_a_class_of_30_from_check_mode_to_offboarding(lab):
    set_up(lab)
    roster = write_roster(lab.tmp_path / "cs119.csv", STUDENTS)
    handouts = lab.tmp_path / "handouts"

    before = cluster_objects(lab.kube)
    check = lab.run("roster", "-e", "roster=%s" % roster, check=True)
    assert check.rc == 0, check
    assert "Creates (30): %s." % ", ".join(STUDENTS) in check.text, check
    assert "Removals (0): none." in check.text
    assert cluster_objects(lab.kube) == before, "check mode changed the cluster"
    assert not handouts.exists(), "check mode wrote handouts"

    first = lab.run("roster", "-e", "roster=%s" % roster)
    assert first.rc == 0, first
    assert sorted(deployments(lab.kube)) == STUDENTS
    assert set(deployments(lab.kube).values()) == {1}
    assert stat.S_IMODE(handouts.stat().st_mode) == 0o700
    files = sorted(p.name for p in handouts.glob("*.txt"))
    assert files == ["%s.txt" % s for s in STUDENTS]
    for name in ("s01", "s02", "s30"):
        text = (handouts / ("%s.txt" % name)).read_text()
        assert stat.S_IMODE((handouts / ("%s.txt" % name)).stat().st_mode) == 0o600
        assert lab.kube.secret_value(NS, "%s-clouddesktop" % name, "password") in text
        assert "http://vnc.%s.ros.example.org/" % name in text and "%s@example.edu" % name in text
        assert "no Tailscale key yet" in text
    assert "with the key you gave" in (handouts / "s01.txt").read_text()
    assert "no key was given" in (handouts / "s02.txt").read_text()
    # the roster's own limits (size tiny) reached the desktops
    container = lab.kube.get("/apis/apps/v1/namespaces/%s/deployments/s05-clouddesktop" % NS)["spec"]["template"][
        "spec"
    ]
    assert container["containers"][0]["resources"]["requests"] == {"cpu": "50m", "memory": "64Mi"}

    again = lab.run("roster", "-e", "roster=%s" % roster)
    assert again.rc == 0 and again.changed == 0, again

    # three students leave: backed up (nothing to archive here, said so), then stopped; nothing deleted
    leaving = ["s04", "s17", "s30"]
    write_roster(roster, [s for s in STUDENTS if s not in leaving])
    offboard = lab.run("roster", "-e", "roster=%s" % roster)
    assert offboard.rc == 0, offboard
    assert "Removals (3): s04, s17, s30: backed up first (s04, s17, s30), then stopped" in offboard.text, offboard
    assert "has no volume with data" in offboard.text
    state = deployments(lab.kube)
    assert sorted(state) == STUDENTS
    assert {s: state[s] for s in leaving} == dict.fromkeys(leaving, 0)
    assert all(state[s] == 1 for s in STUDENTS if s not in leaving)
    for name in leaving:
        assert not (handouts / ("%s.txt" % name)).exists()
        assert lab.kube.get("/api/v1/namespaces/%s/persistentvolumeclaims/%s-clouddesktop-storage" % (NS, name))
        assert lab.kube.get("/api/v1/namespaces/%s/secrets/%s-clouddesktop" % (NS, name))
    saved = json.loads((handouts / "roster-state.json").read_text())
    assert sorted(saved["offboarded"]) == leaving and saved["offboarded"]["s04"]["backup"] == "no data to back up"
    assert stat.S_IMODE((handouts / "roster-state.json").stat().st_mode) == 0o600
    assert lab.run("roster", "-e", "roster=%s" % roster).changed == 0

    # a purge needs the confirmation naming exactly those three
    before = cluster_objects(lab.kube)
    for confirm in ("s04,s17", "s04,s17,s30,s01", ""):
        refused = lab.run(
            "roster", "-e", "roster=%s" % roster, "-e", "purge_data=true", "-e", "confirm_purge=%s" % confirm
        )
        assert refused.rc != 0 and "confirm it with -e confirm_purge=s04,s17,s30, exactly those" in refused.text, (
            refused
        )
    assert cluster_objects(lab.kube) == before
    purge = lab.run("roster", "-e", "roster=%s" % roster, "-e", "purge_data=true", "-e", "confirm_purge=s30,s04,s17")
    assert purge.rc == 0, purge
    assert sorted(deployments(lab.kube)) == [s for s in STUDENTS if s not in leaving]
    for name in leaving:
        assert lab.kube.get("/api/v1/namespaces/%s/persistentvolumeclaims/%s-clouddesktop-storage" % (NS, name)) is None
        assert lab.kube.get("/api/v1/namespaces/%s/secrets/%s-clouddesktop" % (NS, name)) is None
    assert json.loads((handouts / "roster-state.json").read_text())["offboarded"] == {}
    assert lab.run("roster", "-e", "roster=%s" % roster).changed == 0


def test_every_bad_row_is_reported_at_once_before_anything_changes(lab):
    set_up(lab)
    lab.users = [{"name": "ta1"}]
    roster = write_roster(
        lab.tmp_path / "bad.csv",
        ["alice", "bob"],
        [
            "alice,prod,,0,,",  # line 4: duplicate
            "Carol,prod,,0,,",  # line 5: bad name
            "dave,prod,huge,0,,",  # line 6: unknown size
            "erin,stage,,0,,",  # line 7: unknown tier
            "ta1,prod,,0,,",  # line 8: declared in the inventory
            "default,prod,,0,,",  # line 9: reserved
            "frank,prod,,two,,",  # line 10: gpu not a number
        ],
    )
    before = cluster_objects(lab.kube)
    result = lab.run("roster", "-e", "roster=%s" % roster)
    assert result.rc != 0
    assert "7 problem(s) in the roster, nothing was changed" in result.text, result
    for words in (
        "line 4 (alice): user 'alice' is also on line 2",
        "line 5 (Carol): name 'Carol' is not a DNS label",
        "line 6 (dave): size 'huge' is unknown (sizes: big, tiny)",
        "line 7 (erin): tier 'stage' is unknown",
        "line 8 (ta1): 'ta1' is declared in the inventory's desktop_users too",
        "line 9 (default): name 'default' is a reserved name",
        "line 10 (frank): gpu 'two' must be a whole number",
    ):
        assert words in result.text, (words, result)
    assert result.text.count("FAILED!") == 1
    assert cluster_objects(lab.kube) == before


def test_gpus_beyond_the_cluster_are_refused_with_their_lines(lab):
    set_up(lab)
    lab.kube.add_node("gpu1", gpus=1)
    roster = write_roster(lab.tmp_path / "gpu.csv", ["alice"], ["bob,prod,big,1,,", "carol,prod,big,1,,"])
    before = cluster_objects(lab.kube)
    result = lab.run("roster", "-e", "roster=%s" % roster)
    assert result.rc != 0
    assert "line 4 (carol): gpu 1 does not fit: the roster asks for 2 nvidia.com/gpu in all" in result.text, result
    assert "line 3 (bob)" not in result.text
    assert cluster_objects(lab.kube) == before
