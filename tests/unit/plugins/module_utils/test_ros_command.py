"""Command lines and environments of ROS 1 and ROS 2 launches (no ROS needed)."""

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import command as cmd

PKG = {"package": "turtlebot3_bringup", "launch_file": "robot.launch"}


def test_ros1_command_has_wait_signal_timeouts_and_one_element_per_argument():
    args = cmd.check_arguments(1, {"rate": 5, "model": "burger", "sim": False, "quote": 'it\'s "x"; rm -rf /'})
    argv = cmd.ros1_argv(PKG, args, stop_timeout=15)
    assert argv == [
        "roslaunch",
        "--wait",
        "--skip-log-check",
        "--sigint-timeout=6",
        "--sigterm-timeout=3",
        "turtlebot3_bringup",
        "robot.launch",
        "model:=burger",
        'quote:=it\'s "x"; rm -rf /',
        "rate:=5",
        "sim:=false",
    ]


def test_ros1_without_wait_lets_roslaunch_start_a_master():
    assert "--wait" not in cmd.ros1_argv(PKG, [], stop_timeout=15, wait_for_master=False)


def test_ros1_signal_timeouts_stay_inside_the_stop_timeout():
    sigint, sigterm = cmd.ros1_signal_timeouts(10)
    assert (sigint, sigterm) == (4.0, 2.0)
    assert cmd.ros1_signal_timeouts(1) == (1.0, 1.0)  # roslaunch needs at least a second each


def test_ros2_command_with_package_and_with_path():
    args = cmd.check_arguments(2, {"use_sim_time": True, "map": "/maps/lab.yaml"})
    assert cmd.ros2_argv({"package": "nav2_bringup", "launch_file": "navigation_launch.py"}, args) == [
        "ros2",
        "launch",
        "nav2_bringup",
        "navigation_launch.py",
        "map:=/maps/lab.yaml",
        "use_sim_time:=true",
    ]
    assert cmd.ros2_argv({"path": "/opt/lab/robot.launch.py"}, []) == ["ros2", "launch", "/opt/lab/robot.launch.py"]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("a\nb", "line break"),
        ("a\rb", "line break"),
        ("x:=y", "':='"),
        (" lead", "blanks"),
        ("trail ", "blanks"),
        ("", "empty"),
        ("$(find pkg)/x", "substitution"),
        ("$(touch /tmp/x)", "substitution"),
    ],
)
def test_ros1_refuses_values_roslaunch_would_drop_or_rewrite(value, why):
    with pytest.raises(cmd.CommandError, match="argument v: .*%s" % why.replace("(", r"\(")):
        cmd.check_arguments(1, {"v": value})


def test_ros2_carries_those_values_unchanged():
    hostile = "a\nb $(touch /tmp/x) x:=y ' \" ; `id`"
    assert cmd.check_arguments(2, {"v": hostile}) == [("v", hostile)]


@pytest.mark.parametrize("name", ["1abc", "a-b", "a b", "a;b", "$x", ""])
def test_argument_names_must_be_identifiers(name):
    with pytest.raises(cmd.CommandError, match="argument name"):
        cmd.check_arguments(1, {name: "x"})


def test_argument_values_must_be_scalars_without_nul():
    with pytest.raises(cmd.CommandError, match="string, number or boolean"):
        cmd.check_arguments(2, {"x": [1, 2]})
    with pytest.raises(cmd.CommandError, match="NUL"):
        cmd.check_arguments(2, {"x": "a\0b"})


def test_targets_are_checked_before_anything_runs():
    cmd.check_target("turtlebot3_bringup", "robot.launch", None)
    cmd.check_target(None, None, "/abs/file.launch")
    for package, launch_file, path, message in (
        (None, None, "relative/file.launch", "absolute"),
        ("pkg", None, None, "give package and launch_file"),
        ("bad-name", "x.launch", None, "not a valid ROS package name"),
        ("pkg", "../../etc/x.launch", None, "file name inside the package"),
        ("pkg", "--screen", None, "file name inside the package"),
    ):
        with pytest.raises(cmd.CommandError, match=message):
            cmd.check_target(package, launch_file, path)


def test_a_trailing_newline_passes_no_name_check():
    """`$` also matches before a final newline: every name check must cover the whole string."""
    with pytest.raises(cmd.CommandError, match="argument name"):
        cmd.check_arguments(1, {"rate\n": "5"})
    with pytest.raises(cmd.CommandError, match="not a valid variable name"):
        cmd.check_env({"TURTLEBOT3_MODEL\n": "burger"})
    with pytest.raises(cmd.CommandError, match="not a valid ROS package name"):
        cmd.check_target("turtlebot3_bringup\n", "robot.launch", None)
    with pytest.raises(cmd.CommandError, match="file name inside the package"):
        cmd.check_target("turtlebot3_bringup", "robot.launch\n", None)
    with pytest.raises(cmd.CommandError, match="not a ROS node name"):
        cmd.global_node_names(["/talker\n"])


def test_ros1_network_variables():
    env = cmd.network_env(1, master_uri="http://10.0.0.5:11311", ros_ip="10.0.0.5", domain_id=3)
    assert env == {"ROS_MASTER_URI": "http://10.0.0.5:11311", "ROS_IP": "10.0.0.5"}


def test_ros2_network_variables_for_networks_without_multicast():
    env = cmd.network_env(
        2,
        master_uri="http://ignored:11311",
        domain_id=7,
        static_peers=["100.64.0.1", "100.64.0.2"],
        discovery_range="localhost",
        discovery_server="100.64.0.9:11811",
    )
    assert env == {
        "ROS_DOMAIN_ID": "7",
        "ROS_STATIC_PEERS": "100.64.0.1;100.64.0.2",
        "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST",
        "ROS_DISCOVERY_SERVER": "100.64.0.9:11811",
    }
    assert cmd.network_env(2) == {}
    assert cmd.network_env(2, domain_id=0) == {"ROS_DOMAIN_ID": "0"}


@pytest.mark.parametrize(("distro", "warned"), [("humble", True), ("foxy", True), ("jazzy", False), ("iron", False)])
def test_static_peers_on_distributions_that_ignore_them_are_warned_about(distro, warned):
    assert bool(cmd.ros2_static_peers_warning(distro, ["100.64.0.1"])) is warned
    assert cmd.ros2_static_peers_warning(distro, None) is None


def test_families_that_decide_which_code_runs():
    for name in (
        "PATH",
        "LD_PRELOAD",
        "PYTHONPATH",
        "ROS_PACKAGE_PATH",
        "AMENT_PREFIX_PATH",
        "BASH_ENV",
        "OPENSSL_CONF",
        "OPENSSL_MODULES",
        "ROSCONSOLE_CONFIG_FILE",
        "GAZEBO_PLUGIN_PATH",
    ):
        assert cmd.decides_code(name), name
    for name in ("TURTLEBOT3_MODEL", "ROBOT_NAME", "LDS_MODEL"):
        assert not cmd.decides_code(name), name


def test_env_values_are_strings_and_names_identifiers():
    assert cmd.check_env({"A": 1, "B": True, "C": "x y"}) == {"A": "1", "B": "true", "C": "x y"}
    with pytest.raises(cmd.CommandError, match="not a valid variable name"):
        cmd.check_env({"A-B": "x"})


def test_setup_files_are_sourced_in_a_clean_shell_and_passed_as_arguments():
    argv = cmd.source_command(["/opt/ros/noetic/setup.bash", "/tmp/it's here.sh"])
    assert cmd.clean_shell_env("/home/ros", "ros")["PATH"] == cmd.CLEAN_PATH
    assert argv[:3] == ["bash", "--noprofile", "--norc"]
    # file names are positional parameters of the script, never part of the script text
    assert argv[-2:] == ["/opt/ros/noetic/setup.bash", "/tmp/it's here.sh"]
    assert "setup.bash" not in argv[argv.index("-c") + 1]


def test_parse_env0_drops_shell_bookkeeping():
    env = cmd.parse_env0("A=1\0PWD=/x\0SHLVL=1\0B=x=y\0\0")
    assert env == {"A": "1", "B": "x=y"}


def test_detect_ros_version(tmp_path):
    assert cmd.detect_ros_version({"ROS_VERSION": "2"}) == 2
    bin1, bin2 = tmp_path / "one", tmp_path / "two"
    for directory, tool in ((bin1, "roslaunch"), (bin2, "ros2")):
        directory.mkdir()
        (directory / tool).write_text("#!/bin/sh\n")
        (directory / tool).chmod(0o755)
    assert cmd.detect_ros_version({"PATH": str(bin1)}) == 1
    assert cmd.detect_ros_version({"PATH": str(bin2)}) == 2
    assert cmd.detect_ros_version({"PATH": "%s:%s" % (bin1, bin2)}) is None
    assert cmd.detect_ros_version({"PATH": str(tmp_path)}) is None


def test_node_names_are_made_global():
    assert cmd.global_node_names(["talker", "/ns/listener"]) == ["/talker", "/ns/listener"]
    with pytest.raises(cmd.CommandError):
        cmd.global_node_names(["bad name"])


def test_spec_differences_never_show_secret_values():
    old = {"arguments": {"rate": "10"}, "env": {"A": "1"}, "secret_digest": "aaa"}
    new = {"arguments": {"rate": "2"}, "env": {"A": "1"}, "secret_digest": "bbb"}
    assert cmd.spec_differences(old, new) == ["arguments.rate: '10' -> '2'", "secret_env: values changed (not shown)"]
    digest = cmd.secret_digest("key", {"TOKEN": "hunter2"})
    assert "hunter2" not in digest
    assert digest == cmd.secret_digest("key", {"TOKEN": "hunter2"}) != cmd.secret_digest("other", {"TOKEN": "hunter2"})


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("_prefix", "drops names that start with '_'"),  # rosgraph.names.load_mappings skips `_x:=` silently
        ("__master", "special keys"),  # would point roslaunch at another master than ros_master_uri
        ("__ip", "special keys"),
        ("__name", "special keys"),
    ],
)
def test_ros1_refuses_argument_names_roslaunch_drops_or_takes_for_itself(name, why):
    with pytest.raises(cmd.CommandError, match="argument %s: .*%s" % (name, why)):
        cmd.check_arguments(1, {name: "x"})
    assert cmd.check_arguments(2, {name: "x"}) == [(name, "x")]


def test_the_python_logging_configuration_of_ros1_is_protected():
    # rosgraph passes it to logging.config.fileConfig, which evaluates the handlers' args: it runs code
    assert cmd.decides_code("ROS_PYTHON_LOG_CONFIG_FILE")
