"""Fixtures for running a class on a Docker host: the collection's desktop image, desktops run by the desktop_docker
playbook on the project's engine, and a Docker host with systemd for the desktop_culler role.

The desktop image is the real one (roles/desktop_image, built or found up to date by its playbook, as the
desktop_image tests do). The Docker host of the culler is a privileged Debian 12 container with systemd as PID 1
(the image the molecule scenarios use) with the engine's socket mounted as its /var/run/docker.sock: the
culler's systemd timer runs there for real and talks to the engine that runs the desktops, as it would on a lab's
desktop server. Everything made on the shared engine is named hcull-* and carries the label roverlab.test=hcull,
which the culler under test is told to select on, so that it never looks at another test's desktops.

The class operations on the Kubernetes target (test_class_*.py: the culler's CronJob and RBAC, a roster, the status
page) run on the API tier: the desktop tests' fixtures kube and lab (a real control plane per test), loaded from
tests/integration/desktops/conftest.py.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))

from testkit import conftest_of  # noqa: E402  (tests/ is not a package on sys.path)

CACHE = REPO / ".cache"
ARTIFACTS = CACHE / "test-artifacts" / "desktop_class"
WORK = CACHE / "desktop-class"
PREFIX = "hcull"
TEST_LABEL = {"roverlab.test": PREFIX}
HOST = "%s-host" % PREFIX
NETWORK = "%s-net" % PREFIX
IMAGE, TAG = "roverlab/desktop", "bookworm"
SYSTEMD_IMAGE = "roverlab/debian12-systemd:bookworm"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
# host ports (loopback only), below the ephemeral range; each desktop adds its slot
PORT_BASE = {"novnc": 23080, "code": 23180, "vnc": 23900, "ssh": 23222}


# the desktop image tests' helpers (image build, noVNC login) and their Chromium fixture
helpers = conftest_of("desktop_image", "desktop_image_helpers")
browser = helpers.browser
# the desktop tests' API-tier fixtures
_api_tier = conftest_of("desktops", "desktops_fixtures")
kube, lab = _api_tier.kube, _api_tier.lab


def engine_socket():
    host = os.environ.get("DOCKER_HOST", "unix:///var/lib/roverlab-engine/docker.sock")
    assert host.startswith("unix://"), "the tests need the project's engine on a unix socket, got %s" % host
    return host[len("unix://") :]


def run_playbook(name, inventory, extra, *args, timeout=900):
    """Run playbooks/<name> with an inventory and extra variables (JSON files); (rc, output)."""
    WORK.mkdir(parents=True, exist_ok=True)
    stem = "%s-%d-%d" % (name.split(".")[0], os.getpid(), int(time.monotonic() * 1000))
    inventory_file, extra_file = WORK / ("%s-inventory.json" % stem), WORK / ("%s-vars.json" % stem)
    inventory_file.write_text(json.dumps(inventory))
    extra_file.write_text(json.dumps(extra))
    argv = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory_file)]
    argv += [str(REPO / "playbooks" / name), "-e", "@%s" % extra_file, *args]
    proc = subprocess.run(
        argv, cwd=REPO, env=helpers.ansible_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    output = proc.stdout + proc.stderr
    (WORK / ("%s.log" % stem)).write_text("$ %s\n%s" % (" ".join(argv), output))
    return proc.returncode, output


def recap(output, host):
    found = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in RECAP.finditer(output)}
    assert host in found, "no PLAY RECAP for %s in:\n%s" % (host, output[-3000:])
    return found[host]


def remove_leftovers(engine):
    for container in engine.containers.list(all=True, filters={"label": "roverlab.test=%s" % PREFIX}):
        container.remove(force=True)
    for container in engine.containers.list(all=True, filters={"name": "^/%s-" % PREFIX}):
        container.remove(force=True)
    for volume in engine.volumes.list(filters={"name": "%s-" % PREFIX}):
        if volume.name.startswith(PREFIX + "-"):
            volume.remove(force=True)
    for network in engine.networks.list(names=[NETWORK]):
        network.remove()


@pytest.fixture(scope="session")
def engine():
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="session")
def desktop_image(engine):
    """The collection's desktop image, built or found up to date by playbooks/desktop_image.yml."""
    helpers.WORK.mkdir(parents=True, exist_ok=True)
    rc, output, _seconds = helpers.playbook("desktop_image.yml", helpers.image_vars())
    assert rc == 0, output[-8000:]
    return "%s:%s" % (IMAGE, TAG)


class Desktops:
    """Desktops of several users on the engine, run by playbooks/desktop_docker.yml on this machine."""

    def __init__(self, engine, users, secrets_dir):
        self.engine = engine
        self.users = users
        self.secrets_dir = secrets_dir
        self.extra = dict(
            helpers.local_host_vars(),
            desktop_docker_hosts="localhost",
            desktop_docker_image=IMAGE,
            desktop_docker_image_tag=TAG,
            desktop_docker_image_pull="never",
            desktop_docker_name_prefix=PREFIX,
            desktop_docker_network=NETWORK,
            desktop_docker_web_bind_address="127.0.0.1",
            desktop_docker_direct_bind_address="127.0.0.1",
            desktop_docker_host_port_base=PORT_BASE,
            desktop_docker_cpu="250m",
            desktop_docker_cpu_limit="1",
            desktop_docker_memory="512Mi",
            desktop_docker_memory_limit="2Gi",
            desktop_docker_shm_size="128Mi",
            desktop_docker_secrets_dir=str(secrets_dir),
            desktop_docker_labels=TEST_LABEL,
            # the activity report every 2 s instead of 30, so that the short timeouts below see each change
            desktop_docker_env={"ACTIVITY_INTERVAL": "2"},
            desktop_users=[{"name": user, "resolution": "1024x768"} for user in users],
        )

    def converge(self, **overrides):
        rc, output, _seconds = helpers.playbook("desktop_docker.yml", dict(self.extra, **overrides))
        assert rc == 0, output[-6000:]
        return output

    def container(self, user):
        return self.engine.containers.get("%s-%s" % (PREFIX, user))

    def running(self, user):
        return self.engine.api.inspect_container("%s-%s" % (PREFIX, user))["State"]["Running"]

    def password(self, user):
        return (self.secrets_dir / ("%s.password" % user)).read_text()

    def url(self, user, path="/"):
        return "http://127.0.0.1:%d%s" % (PORT_BASE["novnc"] + self.users.index(user), path)

    def exec(self, user, command, as_user="1000", check=True):
        result = self.container(user).exec_run(["bash", "-lc", command], user=as_user, demux=True)
        out, err = (result.output[0] or b"").decode(), (result.output[1] or b"").decode()
        if check:
            assert result.exit_code == 0, "%s in %s: rc %s\n%s\n%s" % (command, user, result.exit_code, out, err)
        return result.exit_code, out, err

    def report(self, user):
        """The desktop's activity report ({} while it cannot be read: a loaded machine may kill an exec)."""
        rc, out, _err = self.exec(user, "cat /run/desktop/activity.json", check=False)
        try:
            return json.loads(out) if rc == 0 else {}
        except ValueError:
            return {}

    def wait_ready(self, user, timeout=300):
        def ready():
            if helpers.http_status(self.url(user, "/vnc.html")) != 200:
                return False
            rc, _out, _err = self.exec(user, "test -s /run/desktop/activity.json", check=False)
            return rc == 0

        helpers.wait_for(ready, timeout=timeout, interval=1, what="the desktop of %s" % user)


@pytest.fixture(scope="module")
def desktops_factory(engine, desktop_image, tmp_path_factory):
    made = []

    def make(users):
        remove_leftovers(engine)
        result = Desktops(engine, users, tmp_path_factory.mktemp("secrets"))
        made.append(result)
        result.converge()
        for user in users:
            result.wait_ready(user)
        return result

    yield make
    remove_leftovers(engine)


class DockerHost:
    """A Debian 12 machine with systemd whose Docker API is the engine's (its socket mounted): the culler's host."""

    def __init__(self, engine):
        self.engine = engine
        self.container = engine.containers.run(
            SYSTEMD_IMAGE,
            command="/lib/systemd/systemd",
            name=HOST,
            hostname=HOST,
            detach=True,
            privileged=True,
            cgroupns="private",
            tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
            stop_signal="SIGRTMIN+3",
            labels=TEST_LABEL,
            network_mode="none",
            volumes={engine_socket(): {"bind": "/var/run/docker.sock", "mode": "rw"}},
        )
        helpers.wait_for(
            lambda: self.run("systemctl is-system-running", check=False)[1].strip() in ("running", "degraded"),
            timeout=120,
            what="systemd in %s" % HOST,
        )

    def run(self, command, check=True):
        result = self.container.exec_run(["sh", "-c", command], demux=True)
        out, err = (result.output[0] or b"").decode(), (result.output[1] or b"").decode()
        if check:
            assert result.exit_code == 0, "%s: rc %s\n%s\n%s" % (command, result.exit_code, out, err)
        return result.exit_code, out, err

    def inventory(self):
        return {
            "all": {
                "hosts": {
                    HOST: {
                        "ansible_connection": "community.docker.docker",
                        "ansible_docker_extra_args": "",
                        "ansible_host": HOST,
                        "docker_host": "unix://%s" % engine_socket(),
                        "ansible_python_interpreter": "/usr/bin/python3",
                    }
                }
            }
        }

    def install_culler(self, **settings):
        extra = dict(desktop_culler_cluster=False, desktop_culler_docker_hosts=HOST, **settings)
        rc, output = run_playbook("desktop_culler.yml", self.inventory(), extra)
        assert rc == 0, output[-6000:]
        return output

    def state(self):
        rc, out, _err = self.run("cat /var/lib/roverlab/desktop_culler/state.json", check=False)
        return json.loads(out) if rc == 0 else {}

    def journal(self):
        return self.run("journalctl --no-pager -o cat -u roverlab-desktop-culler.service")[1]


@pytest.fixture(scope="module")
def docker_host(engine):
    host = DockerHost(engine)
    try:
        yield host
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(AssertionError):
            (ARTIFACTS / "culler-journal.log").write_text(host.journal())
        host.container.remove(force=True)


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / ("%s.png" % name)))
