"""Idle culling on a Docker host, for real: four desktops of the collection's image, the desktop_culler role's
systemd timer on a Docker host, short timeouts. The idle desktop is stopped (kept, not removed) and the journal
says why; the one running a ROS node, the one with an open noVNC session in Chromium, and the one whose GPU is busy
stay up, until their activity ends.

The GPU is a STAND-IN: no NVIDIA hardware here, so the busy desktop gets an nvidia-smi script that prints what a
busy card's `nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader,nounits` prints.
"""

import json
import time

import pytest
from conftest import ARTIFACTS, HOST, helpers, recap, shot

USERS = ["idle", "ros", "novnc", "gpu"]
TIMEOUT = 12  # seconds: idle_timeout of the culler under test
INTERVAL = 4  # seconds between the timer's runs
SETTINGS = {
    "desktop_culler_idle_timeout": TIMEOUT,
    "desktop_culler_interval": "%ds" % INTERVAL,
    # a loaded build machine: an idle desktop's own CPU stays under this, a build would not
    "desktop_culler_cpu_percent": 30,
    "desktop_culler_report_max_age": 60,
    # only this test's desktops on the shared engine
    "desktop_culler_docker_labels": {"roverlab.test": "hcull"},
}
FAKE_NVIDIA_SMI = (
    "#!/bin/sh\n# STAND-IN for a busy GPU's nvidia-smi (no NVIDIA hardware on this machine)\necho '87, 2048'\n"
)


@pytest.fixture(scope="module")
def desktops(desktops_factory):
    return desktops_factory(USERS)


def wait_until(predicate, timeout, what):
    return helpers.wait_for(predicate, timeout=timeout, interval=1, what=what)


def runs_since(docker_host, moment):
    return (docker_host.state().get("time") or 0) > moment


def test_culler_stops_only_the_idle_desktop(desktops, docker_host, browser):
    # the activity: a ROS master and its nodes started from the desktop, a noVNC session in a browser, a busy GPU
    # a ROS master and a node publishing to it, started from the desktop (rosmaster itself: roscore's launcher gives
    # up when the master is slow to answer, as it is on a loaded machine)
    desktops.exec(
        "ros",
        "export ROS_MASTER_URI=http://localhost:11311; (setsid rosmaster --core -p 11311 >/dev/null 2>&1 &); "
        "(setsid rostopic pub -r 1 /from_desktop std_msgs/String busy >/dev/null 2>&1 &); sleep 1",
    )
    wait_until(
        lambda: desktops.report("ros").get("ros", {}).get("count", 0) >= 1, 60, "the ROS processes in ros's report"
    )
    desktops.exec(
        "gpu",
        "cat > /usr/local/bin/nvidia-smi <<'EOF'\n%sEOF\nchmod 755 /usr/local/bin/nvidia-smi" % FAKE_NVIDIA_SMI,
        as_user="0",
    )
    context = browser.new_context(viewport={"width": 1024, "height": 800})
    page = context.new_page()
    try:
        page.goto(desktops.url("novnc", "/vnc.html?autoconnect=1&resize=scale"), timeout=180000)
        page.wait_for_selector("#noVNC_credentials_dlg.noVNC_open", timeout=120000)
        page.fill("#noVNC_password_input", desktops.password("novnc"))
        page.click("#noVNC_credentials_button")
        page.wait_for_selector("html.noVNC_connected", timeout=120000)
        wait_until(
            lambda: desktops.report("novnc").get("connections", {}).get("novnc", 0) >= 1,
            30,
            "the noVNC session in the report",
        )

        docker_host.install_culler(**SETTINGS)
        assert docker_host.run("systemctl is-enabled roverlab-desktop-culler.timer")[1].strip() == "enabled"
        assert docker_host.run("systemctl is-active roverlab-desktop-culler.timer")[1].strip() == "active"

        wait_until(lambda: not desktops.running("idle"), 240, "the timer's culler to stop the idle desktop")
        stopped_at = time.time()
        # a few more runs of the timer: the busy ones stay up
        wait_until(lambda: runs_since(docker_host, stopped_at + TIMEOUT + INTERVAL), 120, "more runs of the culler")
        shot(page, "culler-novnc-session-kept")
        for user in ("ros", "novnc", "gpu"):
            assert desktops.running(user), "%s was stopped:\n%s" % (user, docker_host.journal()[-3000:])
        state = docker_host.state()["desktops"]
        assert "docker/idle" in state and state["docker/idle"]["stopped_at"] > 0
        assert "ROS running" in state["docker/ros"]["why"]
        assert "noVNC connection" in state["docker/novnc"]["why"]
        assert "GPU at 87%" in state["docker/gpu"]["why"]
        journal = docker_host.journal()
        assert "docker/idle: stop idle for" in journal, journal[-3000:]
        # stopped, not removed: the container and its volume are kept
        container = desktops.container("idle")
        assert container.attrs["State"]["Status"] == "exited"
        assert desktops.engine.volumes.get("hcull-idle-data")
    finally:
        context.close()

    # the activity ends: the ROS desktop is culled in its turn, the noVNC one too once its session is closed
    # (the bracket keeps each pattern from matching this shell's own command line)
    desktops.exec("ros", "pkill -u student -f '[r]os(master|topic)' || true")
    wait_until(lambda: not desktops.running("ros"), 180, "the culler to stop ros once its ROS processes ended")
    wait_until(lambda: not desktops.running("novnc"), 180, "the culler to stop novnc once its session closed")
    assert desktops.running("gpu"), docker_host.journal()[-3000:]
    (ARTIFACTS / "culler-state.json").write_text(json.dumps(docker_host.state(), indent=1, sort_keys=True))


def test_second_install_changes_nothing(docker_host, desktops):
    output = docker_host.install_culler(**SETTINGS)
    assert recap(output, HOST)[1] == 0, output[-4000:]
