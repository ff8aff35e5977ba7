"""The robot's allowlist: matching, and refusing files the launch account could change."""

import json
import os
from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import allowlist as _ros_allowlist
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.allowlist import Allowlist, AllowlistError


@pytest.fixture
def write_allowlist(tmp_path, monkeypatch):
    if os.geteuid() != 0:  # the files below belong to this user; let "root" mean this user for the test
        real_stat = os.stat
        monkeypatch.setattr(
            _ros_allowlist.os,
            "stat",
            lambda p: os.stat_result((*real_stat(p)[:4], 0, *real_stat(p)[5:])),
        )

    def write(document, mode=0o644):
        path = tmp_path / "allowlist.json"
        path.write_text(json.dumps(document))
        path.chmod(mode)
        tmp_path.chmod(0o755)
        return str(path)

    return write


def test_launches_match_by_pattern_and_ros_version(write_allowlist, tmp_path):
    launch_dir = tmp_path / "launch"
    launch_dir.mkdir()
    (launch_dir / "robot.launch").write_text("<launch/>")
    allowlist = Allowlist.load(
        write_allowlist(
            {
                "launches": [
                    {"package": "turtlebot3_*", "launch_file": "*.launch"},
                    {"package": "nav2_bringup", "launch_file": "navigation_launch.py", "ros_version": 2},
                    {"path": str(launch_dir / "*.launch")},
                ]
            }
        )
    )
    assert allowlist.allows_launch(1, "turtlebot3_bringup", "robot.launch")
    assert not allowlist.allows_launch(1, "turtlebot3_bringup", "robot.launch.py")
    assert allowlist.allows_launch(2, "nav2_bringup", "navigation_launch.py")
    assert not allowlist.allows_launch(1, "nav2_bringup", "navigation_launch.py")
    assert allowlist.allows_launch(1, path=str(launch_dir / "robot.launch"))
    # '..' and symbolic links are resolved before matching
    assert not allowlist.allows_launch(1, path=str(launch_dir / ".." / ".." / "robot.launch"))
    outside = tmp_path / "outside.launch"
    outside.write_text("<launch/>")
    (launch_dir / "sneaky.launch").symlink_to(outside)
    assert not allowlist.allows_launch(1, path=str(launch_dir / "sneaky.launch"))
    with pytest.raises(AllowlistError, match=r"does not allow package other, launch file x\.launch"):
        allowlist.check_launch(1, "other", "x.launch")


def test_setup_files_and_protected_names(write_allowlist):
    allowlist = Allowlist.load(
        write_allowlist({"launches": [], "setup_files": ["/opt/ros/*/setup.bash"], "env_names": ["ROS_PACKAGE_PATH"]})
    )
    allowlist.check_setup_file("/opt/ros/noetic/setup.bash")
    with pytest.raises(AllowlistError, match=r"does not allow sourcing /tmp/evil\.sh"):
        allowlist.check_setup_file("/tmp/evil.sh")
    allowlist.check_env_name("ROS_PACKAGE_PATH")
    with pytest.raises(AllowlistError, match="LD_PRELOAD decides which code runs"):
        allowlist.check_env_name("LD_PRELOAD")


@pytest.mark.parametrize(
    "name",
    [
        "OPENSSL_CONF",  # OpenSSL's configuration can load engines and providers: code
        "OPENSSL_MODULES",
        "ROSCONSOLE_CONFIG_FILE",  # log4cxx configuration of every roscpp node
        "ROS_PYTHON_LOG_CONFIG_FILE",
        "ROS_HOME",
        "RMW_IMPLEMENTATION",
        "GAZEBO_PLUGIN_PATH",
        "PYTHONSTARTUP",
        "TURTLEBOT3_MODEL",  # harmless, but not named by this allowlist: the rule fails closed
    ],
)
def test_variables_the_allowlist_does_not_name_are_refused(write_allowlist, name):
    allowlist = Allowlist.load(write_allowlist({"launches": [], "env_names": ["ROBOT_*"]}))
    with pytest.raises(AllowlistError, match=name):
        allowlist.check_env_name(name)


def test_the_ros_network_variables_and_named_variables_may_be_set(write_allowlist):
    allowlist = Allowlist.load(write_allowlist({"launches": [], "env_names": ["TURTLEBOT3_MODEL", "ROBOT_*", "*"]}))
    for name in ("ROS_MASTER_URI", "ROS_IP", "ROS_DOMAIN_ID", "ROS_STATIC_PEERS", "TURTLEBOT3_MODEL", "ROBOT_NAME"):
        allowlist.check_env_name(name)
    # a pattern, even '*', never releases a variable that decides which code runs, nor the tag
    for name in ("ROBOT_PLUGIN_PATH", "LD_PRELOAD", "OPENSSL_CONF", "ROS_PACKAGE_PATH", "ROVERLAB_LAUNCH_ID"):
        assert not allowlist.allows_env_name(name), name
    named = Allowlist.load(write_allowlist({"launches": [], "env_names": ["OPENSSL_CONF", "ROVERLAB_LAUNCH_ID"]}))
    assert named.allows_env_name("OPENSSL_CONF")  # the robot's admin spelled it out
    assert not named.allows_env_name("ROVERLAB_LAUNCH_ID")


def test_no_allowlist_means_nothing_may_run(tmp_path):
    with pytest.raises(AllowlistError, match="nothing may be launched"):
        Allowlist.load(str(tmp_path / "missing.json"))


def test_an_allowlist_others_can_write_counts_as_none(write_allowlist):
    with pytest.raises(AllowlistError, match="must not be writable by group or others"):
        Allowlist.load(write_allowlist({"launches": []}, mode=0o664))


@pytest.mark.skipif(os.geteuid() != 0, reason="needs a file owned by someone other than root: chown needs root")
def test_an_allowlist_not_owned_by_root_counts_as_none(tmp_path):
    path = tmp_path / "allowlist.json"
    path.write_text("{}")
    os.chown(path, 65534, 65534)
    tmp_path.chmod(0o755)
    with pytest.raises(AllowlistError, match="must be owned by root"):
        Allowlist.load(str(path))


def test_malformed_entries_are_refused(write_allowlist):
    with pytest.raises(AllowlistError, match="needs package and launch_file, or path"):
        Allowlist.load(write_allowlist({"launches": [{"package": "x"}]}))
    with pytest.raises(AllowlistError, match="expected a JSON object"):
        Allowlist.load(write_allowlist([]))


def test_a_star_never_crosses_a_slash(write_allowlist, tmp_path):
    allowlist = Allowlist.load(
        write_allowlist(
            {
                "launches": [{"path": str(tmp_path / "launch" / "*.launch")}],
                "setup_files": ["/opt/ros/*/setup.bash"],
            }
        )
    )
    assert allowlist.allows_launch(1, path=str(tmp_path / "launch" / "robot.launch"))
    assert not allowlist.allows_launch(1, path=str(tmp_path / "launch" / "students" / "any.launch"))
    allowlist.check_setup_file("/opt/ros/noetic/setup.bash")
    with pytest.raises(AllowlistError, match="does not allow sourcing"):
        allowlist.check_setup_file("/opt/ros/noetic/share/some_pkg/setup.bash")


def test_an_allowlist_behind_a_symlink_is_checked_where_it_really_is(write_allowlist, tmp_path):
    trusted = write_allowlist({"launches": [{"package": "demo", "launch_file": "*.launch"}]})
    assert Allowlist.load(trusted).allows_launch(1, "demo", "x.launch")
    # the real file sits in a directory anyone can write to: whoever can write there can replace it
    open_dir = tmp_path / "open"
    open_dir.mkdir()
    open_dir.chmod(0o777)
    (open_dir / "real.json").write_text(Path(trusted).read_text())
    (open_dir / "real.json").chmod(0o644)
    link_dir = tmp_path / "etc"
    link_dir.mkdir(mode=0o755)
    (link_dir / "allowlist.json").symlink_to(open_dir / "real.json")
    with pytest.raises(AllowlistError, match=r"the allowlist's directory .*/open must not be writable"):
        Allowlist.load(str(link_dir / "allowlist.json"))


def test_every_directory_above_the_allowlist_must_be_root_only_unless_sticky(write_allowlist, tmp_path):
    document = Path(write_allowlist({"launches": []})).read_text()
    parent = tmp_path / "shared"
    (parent / "etc").mkdir(parents=True)
    (parent / "etc").chmod(0o755)
    path = parent / "etc" / "allowlist.json"
    path.write_text(document)
    path.chmod(0o644)
    parent.chmod(0o777)  # anyone could rename etc/ and put an allowlist of their own in its place
    with pytest.raises(AllowlistError, match=r"directory .*/shared must not be writable by group or others"):
        Allowlist.load(str(path))
    parent.chmod(0o1777)  # like /tmp: only root, who owns etc/, may rename it
    Allowlist.load(str(path))
