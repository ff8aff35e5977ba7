# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The command line and environment of a ROS launch, built without any shell.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

Every value ends up as one element of an argv list or one environment entry, so no value is ever parsed
by a shell. What remains is what the launch tools themselves do with a value: roslaunch (ROS 1) drops
or rewrites some values without a word (see ros1_value_problem), so those are refused instead.
"""

import fnmatch
import hashlib
import hmac
import json
import os
import re

# The tag every process of a launch carries in its environment (orphans are found by it).
TAG_NAME = "ROVERLAB_LAUNCH_ID"

# Whole-string patterns: always used with fullmatch (a `$` would also match before a trailing newline).
NAME_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
PACKAGE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
LAUNCH_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*")
ROS_NODE_NAME = re.compile(r"/?[A-Za-z~][A-Za-z0-9_/]*")

# Which variables a caller may set (env, secret_env) fails closed: only these, whose values name an address,
# a number or a ROS namespace and select no code, and what the robot's allowlist names (env_names).
FREE_ENV_NAMES = frozenset(
    (
        "ROS_MASTER_URI",
        "ROS_IP",
        "ROS_HOSTNAME",
        "ROS_NAMESPACE",
        "ROS_DOMAIN_ID",
        "ROS_LOCALHOST_ONLY",
        "ROS_AUTOMATIC_DISCOVERY_RANGE",
        "ROS_STATIC_PEERS",
        "ROS_DISCOVERY_SERVER",
    )
)
# Families of names that decide which code runs, or how: the loader (LD_*), interpreters (PYTHON*, PERL5*, ...),
# OpenSSL's configuration and engine modules (OPENSSL_*), ROS's own configuration (ROS_*: ROS_PACKAGE_PATH,
# ROS_PYTHON_LOG_CONFIG_FILE, whose logging configuration is evaluated as Python; ROSCONSOLE_CONFIG_FILE, ...),
# search paths of every kind (*PATH*), plugin and preload lists. They never match an allowlist *pattern*; only an
# allowlist entry that spells the exact name releases one. The rule above already refuses them (it fails closed):
# this list only keeps a broad pattern such as TURTLEBOT3_* from releasing more than it meant to.
CODE_ENV_PATTERNS = (
    "LD_*",
    "DYLD_*",
    "GCONV_*",
    "GLIBC_*",
    "MALLOC_*",
    "PYTHON*",
    "PERL*",
    "RUBY*",
    "NODE_*",
    "JAVA_*",
    "_JAVA_*",
    "LUA_*",
    "TCL*",
    "OPENSSL_*",
    "SSL_*",
    "ROS*",
    "AMENT_*",
    "CMAKE_*",
    "COLCON_*",
    "CATKIN_*",
    "RMW_*",
    "RCUTILS_*",
    "RCL_*",
    "FASTRTPS_*",
    "FASTDDS_*",
    "CYCLONEDDS_*",
    "GAZEBO_*",
    "GZ_*",
    "IGN_*",
    "QT_*",
    "*PATH*",
    "*PLUGIN*",
    "*PRELOAD*",
    "*LIBRARY*",
    "*CONFIG*",
    "*_OPTIONS",
    "*_OPTS",
    "HOME",
    "SHELL*",
    "BASH*",
    "ENV",
    "IFS",
    "PS4",
    "TMPDIR",
)

# what the setup files are sourced in: nothing from the SSH session, no profile, no rc file
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
SOURCE_SCRIPT = (
    'exec 3>&1 1>&2; for f in "$@"; do . "$f" || { echo "sourcing $f failed" >&2; exit 97; }; done; exec env -0 1>&3'
)
DROPPED_FROM_SOURCED_ENV = ("SHLVL", "_", "PWD", "OLDPWD")


# roslaunch writes its whole environment into its log file ("roslaunch env is environ({...})", logger
# "roslaunch", level INFO). With secret_env, roslaunch gets this logging configuration instead of ROS's
# default: the same handlers, but the "roslaunch" logger itself at WARNING (its child loggers stay at INFO).
ROS1_LOG_CONFIG_NAME = "ros1_logging_without_env.conf"
ROS1_LOG_CONFIG = """# by roverlab.clouddesktop.ros_launch: ROS's default logging without roslaunch's environment dump
[loggers]
keys=root, rosout, roslaunch, parent, pmon, config, server

[handlers]
keys=fileHandler, streamHandler

[formatters]
keys=defaultFormatter

[logger_root]
level=INFO
handlers=fileHandler

[logger_rosout]
level=INFO
handlers=streamHandler
propagate=1
qualname=rosout

[logger_roslaunch]
level=WARNING
handlers=
propagate=1
qualname=roslaunch

[logger_parent]
level=INFO
handlers=
propagate=1
qualname=roslaunch.parent

[logger_pmon]
level=INFO
handlers=
propagate=1
qualname=roslaunch.pmon

[logger_config]
level=INFO
handlers=
propagate=1
qualname=roslaunch.config

[logger_server]
level=INFO
handlers=
propagate=1
qualname=roslaunch.server

[handler_fileHandler]
class=handlers.RotatingFileHandler
level=DEBUG
formatter=defaultFormatter
args=(os.environ['ROS_LOG_FILENAME'], 'a', 50000000, 4)

[handler_streamHandler]
class=rosgraph.roslogging.RosStreamHandler
level=DEBUG
formatter=defaultFormatter
args=(True,)

[formatter_defaultFormatter]
format=[%(name)s][%(levelname)s] %(asctime)s: %(message)s
"""


class CommandError(ValueError):
    pass


def decides_code(name):
    """Is NAME one of the families that decide which code runs (CODE_ENV_PATTERNS)?"""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in CODE_ENV_PATTERNS)


def argument_text(name, value):
    """The text of a launch argument: booleans as true/false (roslaunch's spelling), numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    raise CommandError("argument %s: give a string, number or boolean, not %s" % (name, type(value).__name__))


def ros1_value_problem(text):
    """Why roslaunch would not receive TEXT as it is (None when it would).

    roslaunch reads NAME:=VALUE with rosgraph's remap pattern and then resolves substitution args in
    the value: a newline drops the argument, a second ':=' drops it, surrounding blanks are stripped,
    an empty value is ignored, and '$(' starts a substitution that has no escape.
    """
    if "\n" in text or "\r" in text:
        return "roslaunch drops a value that contains a line break"
    if ":=" in text:
        return "roslaunch drops a value that contains ':='"
    if text != text.strip():
        return "roslaunch strips blanks around a value"
    if text == "":
        return "roslaunch ignores an empty value"
    if "$(" in text:
        return "roslaunch reads '$(' as the start of a substitution arg and has no escape for it"
    return None


def ros1_name_problem(name):
    """Why roslaunch would not take NAME:=VALUE as the launch argument NAME (None when it would).

    rosgraph's load_mappings drops `_name:=` (a private parameter of a node), and `__master:=`, `__ip:=`,
    `__hostname:=`, ... are special keys that reconfigure roslaunch itself.
    """
    if name.startswith("__"):
        return (
            "roslaunch reads names that start with '__' as its own special keys (__master, __ip, __hostname, ...);"
            " use ros_master_uri and ros_ip"
        )
    if name.startswith("_"):
        return "roslaunch drops names that start with '_' (private parameters of a node) without a word"
    return None


def check_arguments(ros_version, arguments):
    """ARGUMENTS (dict) as [(name, text)] sorted by name; CommandError names the first bad one."""
    checked = []
    for name in sorted(arguments or {}):
        if not NAME_TOKEN.fullmatch(name):
            raise CommandError("argument name %r: use letters, digits and '_', not starting with a digit" % name)
        problem = ros1_name_problem(name) if ros_version == 1 else None
        if problem:
            raise CommandError("argument %s: %s; the argument is refused" % (name, problem))
        text = argument_text(name, arguments[name])
        if "\0" in text:
            raise CommandError("argument %s: a value cannot contain a NUL byte" % name)
        problem = ros1_value_problem(text) if ros_version == 1 else None
        if problem:
            raise CommandError(
                "argument %s: %s; the value would not reach the launch as given, so it is refused"
                " (pass such text through env and $(env NAME) instead)" % (name, problem)
            )
        checked.append((name, text))
    return checked


def check_env(env, what="env"):
    """ENV (dict) as {name: text}; names must be plain identifiers, values strings without NUL."""
    checked = {}
    for name in sorted(env or {}):
        if not NAME_TOKEN.fullmatch(name):
            raise CommandError("%s: %r is not a valid variable name" % (what, name))
        value = env[name]
        text = argument_text(name, value) if not isinstance(value, str) else value
        if "\0" in text:
            raise CommandError("%s: %s cannot contain a NUL byte" % (what, name))
        checked[name] = text
    return checked


def check_target(package, launch_file, path):
    if path is not None:
        if not os.path.isabs(path):
            raise CommandError("path %r must be absolute" % path)
        return
    if not package or not launch_file:
        raise CommandError("give package and launch_file, or path")
    if not PACKAGE_NAME.fullmatch(package):
        raise CommandError("package %r is not a valid ROS package name" % package)
    if not LAUNCH_FILE_NAME.fullmatch(launch_file):
        raise CommandError(
            "launch_file %r must be a file name inside the package (no '/', not starting with '-')" % launch_file
        )


def global_node_names(names):
    """Node names as the graph lists them (leading '/')."""
    result = []
    for name in names:
        if not ROS_NODE_NAME.fullmatch(name):
            raise CommandError("wait_for: %r is not a ROS node name" % name)
        result.append(name if name.startswith("/") else "/" + name)
    return result


def ros1_signal_timeouts(stop_timeout):
    """roslaunch's own SIGINT and SIGTERM waits per node: together well inside the module's stop_timeout."""
    return max(1.0, round(stop_timeout * 0.4, 1)), max(1.0, round(stop_timeout * 0.2, 1))


def ros1_argv(target, arguments, stop_timeout, wait_for_master=True):
    sigint, sigterm = ros1_signal_timeouts(stop_timeout)
    argv = ["roslaunch"]
    if wait_for_master:
        argv.append("--wait")
    argv += ["--skip-log-check", "--sigint-timeout=%g" % sigint, "--sigterm-timeout=%g" % sigterm]
    argv += launch_target_args(target)
    argv += ["%s:=%s" % (name, text) for name, text in arguments]
    return argv


def ros1_nodes_argv(target, arguments):
    """roslaunch --nodes: the node names a launch file starts, without starting anything."""
    return ["roslaunch", "--nodes"] + launch_target_args(target) + ["%s:=%s" % (n, t) for n, t in arguments]


def ros2_argv(target, arguments):
    return ["ros2", "launch"] + launch_target_args(target) + ["%s:=%s" % (name, text) for name, text in arguments]


def launch_target_args(target):
    return [target["path"]] if target.get("path") else [target["package"], target["launch_file"]]


def network_env(
    ros_version,
    master_uri=None,
    ros_ip=None,
    domain_id=None,
    static_peers=None,
    discovery_server=None,
    discovery_range=None,
):
    """The ROS networking variables the options ask for (only those that were given)."""
    env = {}
    if ros_version == 1:
        if master_uri:
            env["ROS_MASTER_URI"] = master_uri
        if ros_ip:
            env["ROS_IP"] = ros_ip
        return env
    if domain_id is not None:
        env["ROS_DOMAIN_ID"] = str(domain_id)
    if static_peers:
        env["ROS_STATIC_PEERS"] = ";".join(static_peers)
    if discovery_range:
        env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = discovery_range.upper()
    if discovery_server:
        env["ROS_DISCOVERY_SERVER"] = discovery_server
    return env


def ros2_static_peers_warning(distro, static_peers):
    """ROS_STATIC_PEERS exists since Iron; older distributions ignore it silently."""
    if static_peers and distro in ("foxy", "galactic", "humble"):
        return (
            "ROS_STATIC_PEERS needs ROS 2 Iron or newer; %s ignores it. Use ros_discovery_server (Fast DDS) "
            "or a DDS peer list (CYCLONEDDS_URI) through env instead." % distro
        )
    return None


def clean_shell_env(home, user):
    return {"PATH": CLEAN_PATH, "HOME": home, "USER": user, "LOGNAME": user, "LANG": "C.UTF-8"}


def source_command(setup_files):
    """argv that sources SETUP_FILES in bash without profile or rc file and prints the result with env -0.

    Run it with clean_shell_env() as its whole environment. The script text is fixed: the file names are its
    positional parameters, and nothing in it comes from the caller's environment.
    """
    return ["bash", "--noprofile", "--norc", "-c", SOURCE_SCRIPT, "roverlab-ros-env", *setup_files]


def parse_env0(output):
    env = {}
    for entry in output.split("\0"):
        name, sep, value = entry.partition("=")
        if sep and name not in DROPPED_FROM_SOURCED_ENV:
            env[name] = value
    return env


def detect_ros_version(env):
    """1 or 2 from what the sourced environment offers; None when it cannot tell."""
    if env.get("ROS_VERSION") in ("1", "2"):
        return int(env["ROS_VERSION"])
    found = [v for v, tool in ((1, "roslaunch"), (2, "ros2")) if find_executable(tool, env.get("PATH", CLEAN_PATH))]
    return found[0] if len(found) == 1 else None


def find_executable(name, path):
    for directory in path.split(os.pathsep):
        candidate = os.path.join(directory or ".", name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def secret_digest(key, secret_env):
    """HMAC-SHA256 of the secret values under KEY, which is kept apart from the records (state.secret_key): a
    change of a value shows up, and without the key a record does not help to guess even a short value."""
    payload = json.dumps(secret_env, sort_keys=True).encode()
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def spec_differences(old, new, prefix=""):
    """Human-readable differences between two launch specs, e.g. ["arguments.rate: '10' -> '2'"]."""
    changes = []
    for key in sorted(set(old) | set(new)):
        label = prefix + key
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if isinstance(before, dict) and isinstance(after, dict):
            changes += spec_differences(before, after, label + ".")
        elif key == "secret_digest":
            changes.append("secret_env: values changed (not shown)")
        else:
            changes.append("%s: %r -> %r" % (label, before, after))
    return changes
