"""Running a class on the local lab's real Kubernetes: the desktops are real pods of the collection's own desktop
image in the rover node containers.

- A restore after a purge gives the student back every file, checked by SHA-256 (and owner and mode): a backup Job
  next to the volume, the archive copied to the controller through the API (exec), a purge that backs up first, a
  restore into a new desktop.
- The idle culler's CronJob, with its own ServiceAccount, execs into the desktops for the activity report that the
  desktop image writes itself (its desktop-activity reporter) and stops the idle one (replicas 0, an Event), not the
  one running a ROS process.

Uses the lab of the `lab` fixture (conftest.py); the cluster is converged with site.yml first if its nodes are not
both Ready (test_lab.py, which runs first in the stage, leaves it converged).
"""

import base64
import hashlib
import json
import shlex
import time

import pytest
from test_lab import KUBECONFIG, PLAYBOOK, api_get, changed_hosts, run

NS = "clouddesktop-prod"
# the desktop user of the image (roles/desktop_image): files a student makes are theirs
AS_STUDENT = "setpriv --reuid=1000 --regid=1000 --init-groups "
# the student's files: the coursework the test writes and the workspace seeded from the image (what a running
# desktop rewrites by itself, its caches, settings and logs under dot folders, cannot be compared across a restore)
STUDENT_FILES = "cd /my_ros_data && find ./coursework ./catkin_ws/src"
MANIFEST = STUDENT_FILES + " \\( -type f -o -type l \\) -printf '%p %m %U:%G %l\\n' | sort"
SUMS = STUDENT_FILES + " -type f -print0 | sort -z | xargs -0 sha256sum"


def core():
    from kubernetes import client, config

    return client.CoreV1Api(config.new_client_from_config(str(KUBECONFIG)))


def pod_of(user, namespace=NS, timeout=300):
    deadline = time.monotonic() + timeout
    while True:
        pods = [
            p
            for p in core()
            .list_namespaced_pod(namespace, label_selector="clouddesktop.roverlab.io/user=%s" % user)
            .items
            if p.status.phase == "Running"
            and not p.metadata.deletion_timestamp
            and all(s.ready for s in p.status.container_statuses or [])
        ]
        if pods:
            return pods[0].metadata.name
        assert time.monotonic() < deadline, "no running pod of %s" % user
        time.sleep(3)


def sh(pod, command, namespace=NS):
    from kubernetes.stream import stream

    return stream(
        core().connect_get_namespaced_pod_exec,
        pod,
        namespace,
        container="desktop",
        command=["/bin/sh", "-c", command],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )


@pytest.fixture(scope="module")
def cluster(lab):
    try:
        nodes = api_get("/api/v1/nodes")["items"] if KUBECONFIG.exists() else []
    except OSError:  # a kubeconfig of an earlier lab, whose API server is gone
        nodes = []
    ready = [n for n in nodes if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])]
    if len(ready) < 2:
        run(PLAYBOOK, "site.yml")


def test_restore_after_purge_gives_back_every_file_by_checksum(cluster, tmp_path):
    run(PLAYBOOK, "roverlab.clouddesktop.desktops")
    pod = pod_of("alice")
    blob = base64.b64encode(hashlib.sha256(b"roverlab").digest() * 1024).decode()
    script = (
        "mkdir -p /my_ros_data/coursework/sub && cd /my_ros_data/coursework && echo '%s' | base64 -d > blob.bin && "
        "printf 'line one\\nline two\\n' > notes.txt && chmod 640 notes.txt && ln -sf notes.txt latest && "
        "head -c 300000 /dev/urandom > sub/random.bin && chmod 700 sub" % blob
    )
    sh(pod, "%s sh -c %s" % (AS_STUDENT, shlex.quote(script)))
    manifest, sums = sh(pod, MANIFEST), sh(pod, SUMS)
    assert "./coursework/sub/random.bin" in sums and "./coursework/latest 777" in manifest, manifest

    backups = tmp_path / "backups"
    backup = run(
        PLAYBOOK,
        "roverlab.clouddesktop.desktop_backup",
        "-e",
        "user=alice",
        "-e",
        "cloud_desktop_backup_dir=%s" % backups,
    )
    archives = sorted(backups.glob("alice-*.tar.gz"))
    assert len(archives) == 1, backup.stdout[-3000:]
    sidecar = (backups / (archives[0].name + ".sha256")).read_text().split()[0]
    assert sidecar == hashlib.sha256(archives[0].read_bytes()).hexdigest()
    assert archives[0].stat().st_mode & 0o077 == 0 and backups.stat().st_mode & 0o077 == 0

    purge = run(
        PLAYBOOK,
        "roverlab.clouddesktop.desktop",
        "-e",
        "user=alice",
        "-e",
        "state=absent",
        "-e",
        "purge_data=true",
        "-e",
        "confirm_purge=alice",
        "-e",
        "cloud_desktop_backup_dir=%s" % backups,
    )
    assert len(sorted(backups.glob("alice-*.tar.gz"))) == 2, "the purge took no backup first:\n" + purge.stdout[-3000:]
    deadline = time.monotonic() + 120  # the claim goes once its pod is gone
    while api_get("/api/v1/namespaces/%s/persistentvolumeclaims/alice-clouddesktop-storage" % NS) is not None:
        assert time.monotonic() < deadline, "the purge left alice's volume claim"
        time.sleep(3)

    restore = run(
        PLAYBOOK,
        "roverlab.clouddesktop.desktop_restore",
        "-e",
        "user=alice",
        "-e",
        "restore_file=%s" % archives[0],
        "-e",
        "confirm_restore=alice",
        "-e",
        "cloud_desktop_backup_dir=%s" % backups,
    )
    assert "Restored %s" % archives[0] in restore.stdout, restore.stdout[-3000:]
    pod = pod_of("alice")
    assert sh(pod, SUMS) == sums, "a file came back different"
    assert sh(pod, MANIFEST) == manifest, "an owner, mode or link came back different"
    # a damaged archive is refused before anything changes
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(archives[0].read_bytes()[:-10] + b"0123456789")
    (tmp_path / "damaged.tar.gz.sha256").write_text(sidecar + "  damaged.tar.gz\n")
    refused = run(
        PLAYBOOK,
        "roverlab.clouddesktop.desktop_restore",
        "-e",
        "user=alice",
        "-e",
        "restore_file=%s" % damaged,
        "-e",
        "confirm_restore=alice",
        check=False,
    )
    assert refused.returncode != 0 and "does not match its SHA-256" in refused.stdout
    assert sh(pod_of("alice"), SUMS) == sums


def report(pod, namespace=NS):
    """The desktop's own activity report (the image's reporter writes it every 30 s), or {} while there is none."""
    # base64: the API client's exec stream turns an output that parses as JSON into a Python text of it
    text = sh(pod, "base64 -w0 /run/desktop/activity.json 2>/dev/null || true", namespace=namespace).strip()
    return json.loads(base64.b64decode(text)) if text else {}


def test_culler_cronjob_stops_the_idle_desktop_not_the_busy_one(cluster):
    run(PLAYBOOK, "roverlab.clouddesktop.desktops")
    alice, bob_ns = pod_of("alice"), "clouddesktop-dev"
    bob = pod_of("bob", namespace=bob_ns)
    # bob runs ROS in his desktop: a master and a publishing node (the reporter counts the user's ROS processes)
    ros = (
        "export HOME=/my_ros_data ROS_MASTER_URI=http://localhost:11311 ROS_HOSTNAME=localhost; "
        "roscore >/tmp/roscore.log 2>&1 & sleep 8; exec rostopic pub -r 1 /busy std_msgs/String 'data: busy'"
    )
    sh(bob, "(%s setsid sh -c %s >/dev/null 2>&1 &)" % (AS_STUDENT, shlex.quote(ros)), namespace=bob_ns)
    try:
        deadline = time.monotonic() + 120
        while not (report(bob, bob_ns).get("ros", {}).get("count") and report(alice)):
            assert time.monotonic() < deadline, (report(alice), report(bob, bob_ns))
            time.sleep(5)
        installed = run(
            PLAYBOOK,
            "roverlab.clouddesktop.desktop_culler",
            "-e",
            "desktop_culler_idle_timeout=20",
            "-e",
            "desktop_culler_cpu_percent=50",
        )
        assert "idle culler runs" in installed.stdout
        from kubernetes import client, config

        batch = client.BatchV1Api(config.new_client_from_config(str(KUBECONFIG)))
        template = batch.read_namespaced_cron_job("desktop-culler", "clouddesktop-culler").spec.job_template
        for attempt in range(6):
            job = client.V1Job(
                metadata=client.V1ObjectMeta(name="culler-test-%d" % attempt, namespace="clouddesktop-culler"),
                spec=template.spec,
            )
            batch.create_namespaced_job("clouddesktop-culler", job)
            deadline = time.monotonic() + 180
            while not (batch.read_namespaced_job("culler-test-%d" % attempt, "clouddesktop-culler").status.succeeded):
                assert time.monotonic() < deadline, "the culler's Job did not finish"
                time.sleep(3)
            deployment = api_get("/apis/apps/v1/namespaces/%s/deployments/alice-clouddesktop" % NS)
            if deployment["spec"]["replicas"] == 0:
                break
            time.sleep(12)
        assert api_get("/apis/apps/v1/namespaces/%s/deployments/alice-clouddesktop" % NS)["spec"]["replicas"] == 0
        assert api_get("/apis/apps/v1/namespaces/%s/deployments/bob-clouddesktop" % bob_ns)["spec"]["replicas"] == 1
        events = api_get("/api/v1/namespaces/%s/events?fieldSelector=reason%%3DIdleStopped" % NS)["items"]
        assert events and "idle for" in events[-1]["message"]
        state = json.loads(
            api_get("/api/v1/namespaces/clouddesktop-culler/configmaps/desktop-culler-state")["data"]["state.json"]
        )
        assert "ROS running" in state["desktops"]["%s/bob" % bob_ns]["why"]
    finally:
        # back to how the lab was: bob's ROS ended, alice runs again, the culler is removed (its CronJob, with a
        # 20 s timeout, would otherwise stop the desktops of the tests that follow)
        sh(bob, "pkill -u 1000 -f 'rostopic|roscore|rosmaster|rosout' || true", namespace=bob_ns)
        run(PLAYBOOK, "roverlab.clouddesktop.desktop_culler", "-e", "desktop_culler_state=absent")
        run(PLAYBOOK, "roverlab.clouddesktop.desktop", "-e", "user=alice", "-e", "state=started")
    assert changed_hosts(run(PLAYBOOK, "roverlab.clouddesktop.desktops").stdout) == {}
