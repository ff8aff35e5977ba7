"""Fixtures for the desktop image tests: the real image, built by the collection, run by the collection.

The session builds the image with playbooks/desktop_image.yml on the project's Docker engine (npm and Go caches in
.cache/, artifacts in .cache/desktop-image/work), runs one desktop with playbooks/desktop_docker.yml (the single
Docker host path), and makes a robot: a network namespace with sshd and a real ROS 1 master (scripts/lablib).
Chromium is Debian's /usr/bin/chromium, driven by Playwright from PyPI; screenshots go to
.cache/test-artifacts/desktop_image/.

Everything this creates on the shared engine is named dimg-<pid>-* (containers, volumes, the network); the robot's
namespace and account start with dimg<pid>. The session removes them, also after a failure. The images stay: they
are the build cache of the next run.
"""

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "scripts"))
sys.path.insert(0, str(REPO / "tests"))

from lablib import RobotLab, free_subnet_base  # noqa: E402  (scripts/ is not a package on sys.path)
from testkit import wait_for  # noqa: E402  (tests/ is not a package on sys.path)

CACHE = REPO / ".cache"
ARTIFACTS = CACHE / "test-artifacts" / "desktop_image"
WORK = CACHE / "desktop-image"
EXPORT = WORK / "export" / "roverlab-desktop-bookworm.tar"
IMAGE = "roverlab/desktop"
TAG = "bookworm"
# one session's names and ports: two sessions on one engine (two checkouts, or another stage that uses these
# fixtures) must not remove or reach each other's desktops
PREFIX = "dimg-%d" % os.getpid()
USER = "alice"
CONTAINER = "%s-%s" % (PREFIX, USER)
VOLUME = CONTAINER + "-data"
NETWORK = "%s-net" % PREFIX
# host ports of the desktop (loopback only), below the ephemeral range
_PORT_BASE = 20000 + (os.getpid() % 2000) * 4
PORTS = {"novnc": _PORT_BASE, "vscode": _PORT_BASE + 1, "vnc": _PORT_BASE + 2, "ssh": _PORT_BASE + 3}
NOVNC = "/vnc.html?autoconnect=1&resize=scale"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def ansible_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")


def playbook(playbook_name, extra, *args, timeout=3600):
    """Run playbooks/<name> on this machine as the Docker host; (rc, output, seconds)."""
    extra_file = WORK / ("vars-%s-%d.json" % (playbook_name.split(".")[0], os.getpid()))
    extra_file.write_text(json.dumps(extra))
    argv = [
        str(REPO / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        "localhost,",
        str(REPO / "playbooks" / playbook_name),
        "-e",
        "@%s" % extra_file,
        *args,
    ]
    start = time.monotonic()
    proc = subprocess.run(
        argv, cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start


def recap(output):
    found = {m.group(1): tuple(int(g) for g in m.groups()[1:]) for m in RECAP.finditer(output)}
    assert found, "no PLAY RECAP in:\n" + output[-3000:]
    return found["localhost"]


def local_host_vars():
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": str(REPO / ".venv" / "bin" / "python"),
    }


def image_vars():
    return dict(
        local_host_vars(),
        desktop_image_hosts="localhost",
        desktop_image_work_dir=str(WORK / "work"),
        desktop_image_npm_cache_dir=str(CACHE / "npm"),
        desktop_image_go_cache_dir=str(CACHE / "go"),
        desktop_image_export_path=str(EXPORT),
    )


def record(name, data):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / ("%s.json" % name)).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def engine():
    client = docker.from_env(timeout=300)
    yield client
    client.close()


@pytest.fixture(scope="session")
def built_image(engine):
    """The image, built (or found up to date) by the collection's playbook; its first run's output."""
    WORK.mkdir(parents=True, exist_ok=True)
    rc, output, seconds = playbook("desktop_image.yml", image_vars())
    (WORK / "last-build.log").write_text(output)
    assert rc == 0, output[-8000:]
    record("build", {"seconds": round(seconds, 1), "changed": recap(output)[1]})
    return {"output": output, "seconds": seconds}


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:  # noqa: S310 - loopback URL
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


@pytest.fixture(scope="session")
def robot():
    """One robot: a network namespace with sshd and roscore, publishing nothing yet."""
    if os.geteuid() != 0:
        pytest.fail("the desktop tests need root: the robot is a network namespace")
    base = Path("/tmp/roverlab-dimg-%d" % os.getpid())
    base.mkdir(mode=0o755)
    subnet = free_subnet_base(230 + os.getpid() % 20, avoid={201})
    lab = RobotLab(str(base / "lab"), prefix="dimg%d" % os.getpid(), subnet_base=subnet)
    try:
        lab.create(1)
        yield lab.robots[0]
    finally:
        lab.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def ssh_key():
    directory = WORK / ("ssh-%d" % os.getpid())
    directory.mkdir(parents=True, exist_ok=True)
    key = directory / "id_ed25519"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dimg-test", "-f", str(key)], check=True)
    yield key
    shutil.rmtree(directory, ignore_errors=True)


def remove_leftovers(engine):
    for container in engine.containers.list(all=True, filters={"name": "^/%s-" % PREFIX}):
        container.remove(force=True)
    for volume in engine.volumes.list(filters={"name": "%s-" % PREFIX}):
        if volume.name.startswith(PREFIX + "-"):
            volume.remove(force=True)
    for network in engine.networks.list(names=[NETWORK]):
        network.remove()


class Desktop:
    """The desktop of USER, run by playbooks/desktop_docker.yml."""

    def __init__(self, engine, extra, secrets_dir):
        self.engine = engine
        self.extra = extra
        self.secrets_dir = secrets_dir

    @property
    def container(self):
        return self.engine.containers.get(CONTAINER)

    @property
    def password(self):
        return (self.secrets_dir / ("%s.password" % USER)).read_text()

    def url(self, name, path="/"):
        return "http://127.0.0.1:%d%s" % (PORTS[name], path)

    def converge(self, **overrides):
        extra = dict(self.extra, **overrides)
        rc, output, seconds = playbook("desktop_docker.yml", extra)
        assert rc == 0, output[-6000:]
        return output, seconds

    def exec(self, command, user="1000", check=True):
        result = self.container.exec_run(["bash", "-lc", command], user=user, demux=True)
        out = (result.output[0] or b"").decode()
        err = (result.output[1] or b"").decode()
        if check:
            assert result.exit_code == 0, "%s: rc %s\n%s\n%s" % (command, result.exit_code, out, err)
        return result.exit_code, out, err

    def wait_ready(self, timeout=240):
        """Until the desktop's core answers: noVNC on its published port, VNC and SSH listening. code-server is
        left to its own test: on a machine this busy its first start can take minutes."""

        def ready():
            if http_status(self.url("novnc", "/vnc.html")) != 200:
                return False
            return self.exec("desktop-healthcheck novnc vnc ssh", check=False)[0] == 0

        try:
            return wait_for(ready, timeout=timeout, what="the desktop to answer")
        except AssertionError as exc:
            logs = self.engine.api.logs(CONTAINER, tail=40).decode(errors="replace")
            raise AssertionError("%s; the container's last lines:\n%s" % (exc, logs)) from None


@pytest.fixture(scope="session")
def desktop(engine, built_image, robot, ssh_key):
    """alice's desktop on the engine, through the collection's desktop_docker playbook."""
    remove_leftovers(engine)
    secrets_dir = WORK / ("secrets-%d" % os.getpid())
    extra = dict(
        local_host_vars(),
        desktop_docker_hosts="localhost",
        desktop_docker_image=IMAGE,
        desktop_docker_image_tag=TAG,
        desktop_docker_image_pull="never",
        desktop_docker_name_prefix=PREFIX,
        desktop_docker_network=NETWORK,
        desktop_docker_web_bind_address="127.0.0.1",
        desktop_docker_direct_bind_address="127.0.0.1",
        desktop_docker_host_port_base={
            "novnc": PORTS["novnc"],
            "code": PORTS["vscode"],
            "vnc": PORTS["vnc"],
            "ssh": PORTS["ssh"],
        },
        desktop_docker_cpu="1",
        desktop_docker_cpu_limit="1.5",
        desktop_docker_memory="1Gi",
        desktop_docker_memory_limit="3Gi",
        desktop_docker_shm_size="256Mi",
        desktop_docker_secrets_dir=str(secrets_dir),
        desktop_docker_backup_dir=str(WORK / ("backups-%d" % os.getpid())),
        desktop_users=[
            {
                "name": USER,
                "resolution": "1280x800",
                "ssh_authorized_keys": [(ssh_key.parent / "id_ed25519.pub").read_text().strip()],
                "env": {"ROS_MASTER_URI": robot.master_uri},
            }
        ],
    )
    result = Desktop(engine, extra, secrets_dir)
    try:
        output, seconds = result.converge()
        record("desktop-run", {"seconds": round(seconds, 1)})
        result.first_output = output
        result.wait_ready()
        yield result
    finally:
        remove_leftovers(engine)
        shutil.rmtree(secrets_dir, ignore_errors=True)
        shutil.rmtree(extra["desktop_docker_backup_dir"], ignore_errors=True)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from Debian's package, driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path("/usr/bin/chromium").exists():
        pytest.fail("the browser tests need Debian's chromium package (scripts/setup.sh installs it)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-dev-shm-usage"], headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    yield tab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / ("%s-final.png" % request.node.name)))
    context.close()


# --- browser helpers ---------------------------------------------------------------------------------------


def canvas_colours(page):
    """(number of colours, share of the most common one) of the noVNC canvas (the remote framebuffer)."""
    data_url = page.evaluate("document.querySelector('#noVNC_container canvas').toDataURL('image/png')")
    image = Image.open(io.BytesIO(base64.b64decode(data_url.split(",", 1)[1]))).convert("RGB")
    colours = image.getcolors(1 << 24)
    top = max(count for count, _colour in colours)
    return len(colours), top / (image.width * image.height)


def log_in_to_novnc(page, desktop, password):
    page.goto(desktop.url("novnc", NOVNC))
    page.wait_for_selector("#noVNC_credentials_dlg.noVNC_open", timeout=60000)
    page.fill("#noVNC_password_input", password)
    page.click("#noVNC_credentials_button")


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / ("%s.png" % name)))
