"""The ROS 2 path of ros_launch against a real ROS 2, wherever one is installed.

ROS 2 is not packaged for Debian 12, so on this project's test machine these tests are skipped (the ROS 2
path is covered by tests/unit/plugins/modules/test_ros_launch.py with a stand-in `ros2`). On a machine with
ROS 2 (ROS_DISTRO set, /opt/ros/$ROS_DISTRO/setup.bash, demo_nodes_py installed) they start demo_nodes_py's
talker through ansible-playbook on localhost, check /talker with `ros2 node list`, and stop it.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DISTRO = os.environ.get("ROS_DISTRO", "")
SETUP = Path("/opt/ros/%s/setup.bash" % DISTRO)

pytestmark = pytest.mark.skipif(
    not (shutil.which("ros2") and DISTRO and SETUP.is_file()),
    reason="no ROS 2 here (ros2 in PATH, ROS_DISTRO and /opt/ros/$ROS_DISTRO/setup.bash needed)",
)


def run(tmp, state, extra=None):
    playbook = tmp / "ros2.yml"
    playbook.write_text(
        "- name: ROS 2 launch\n  hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
        "    - name: Apply\n      roverlab.clouddesktop.ros_launch:\n"
        "      args: '{{ launch_args }}'\n      register: launch\n"
    )
    args = {
        "name": "ros2talker",
        "state": state,
        "package": "demo_nodes_py",
        "launch_file": "talker.launch.py",
        "setup_files": [str(SETUP)],
        "allowlist": str(tmp / "etc" / "allowlist.json"),
        "state_dir": str(tmp / "state"),
        "ros_domain_id": 42,
        "wait_for": ["/talker"],
        "timeout": 60,
    }
    args.update(extra or {})
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    proc = subprocess.run(
        [
            "ansible-playbook",
            "-i",
            "localhost,",
            str(playbook),
            "-e",
            json.dumps({"launch_args": args, "ansible_python_interpreter": "/usr/bin/python3"}),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = json.loads(proc.stdout)
    result = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    return proc.returncode, result


@pytest.fixture
def ros2_dir(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "allowlist.json").write_text(
        json.dumps(
            {
                "launches": [{"package": "demo_nodes_py", "launch_file": "talker.launch.py", "ros_version": 2}],
                "setup_files": [str(SETUP)],
            }
        )
    )
    if os.geteuid() == 0:
        for path in (tmp_path, etc):
            path.chmod(0o755)
    else:
        pytest.skip("the allowlist must be owned by root: run as root")
    yield tmp_path
    run(tmp_path, "stopped")


def test_real_ros2_start_status_stop(ros2_dir):
    rc, result = run(ros2_dir, "started")
    assert rc == 0, result.get("msg")
    assert result["ros_version"] == 2 and result["nodes_up"] == ["/talker"]
    env = {"ROS_DOMAIN_ID": "42"}
    listed = subprocess.run(
        ["bash", "-c", '. "$0"; ros2 node list', str(SETUP)],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert "/talker" in listed.stdout
    rc, again = run(ros2_dir, "started")
    assert rc == 0 and again["changed"] is False
    rc, stopped = run(ros2_dir, "stopped")
    assert rc == 0 and stopped["changed"] is True and stopped["state"] == "stopped"
