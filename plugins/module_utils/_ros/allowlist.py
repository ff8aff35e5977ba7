# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The robot's allowlist: which launches, setup files and environment variables a caller may use.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

The file is JSON, written by the ros_robot role (ros_robot_allowlist), for example::

    {"launches": [{"package": "turtlebot3_bringup", "launch_file": "*.launch"},
                  {"path": "/opt/lab/launch/*.launch", "ros_version": 1}],
     "setup_files": ["/opt/ros/noetic/setup.bash", "/etc/roverlab/ros_launch/env.sh"],
     "env_names": ["TURTLEBOT3_MODEL", "ROBOT_*"]}

env_names decides which variables a caller may set besides the ROS network variables (see allows_env_name):
exact names, or patterns that never match a name of the families that decide which code runs.

Patterns are shell-style and case-sensitive: as in a shell, `*`, `?` and `[...]` never match a '/', so
`/opt/lab/*.launch` allows no file in a subdirectory. Paths are compared after resolving symlinks and '..'.
The file only counts when the launch account cannot change it or swap it for another: the file (after
resolving symlinks) and every directory above it are owned by root and not writable by group or others
(a sticky directory such as /tmp is fine above it). No allowlist means nothing may be launched.
"""

import fnmatch
import json
import os
import stat

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.command import (
    FREE_ENV_NAMES,
    TAG_NAME,
    decides_code,
)

# The robot's allowlist. A fixed path, not an option: the robot decides which file counts, not the task.
ROBOT_ALLOWLIST = "/etc/roverlab/ros_launch/allowlist.json"


class AllowlistError(Exception):
    pass


def _check_owned_by_root(path, what, sticky_ok=False):
    info = os.stat(path)
    if info.st_uid != 0:
        raise AllowlistError("%s %s must be owned by root (it is uid %d)" % (what, path, info.st_uid))
    if info.st_mode & 0o022 and not (sticky_ok and info.st_mode & stat.S_ISVTX):
        raise AllowlistError(
            "%s %s must not be writable by group or others (mode %o)" % (what, path, info.st_mode & 0o777)
        )
    return info


def _check_trusted_file(path):
    """Refuse PATH unless only root can change it or replace it: its real path and every directory above."""
    real = os.path.realpath(path)
    info = _check_owned_by_root(real, "allowlist" if real == path else "allowlist %s ->" % path)
    if not stat.S_ISREG(info.st_mode):
        raise AllowlistError("allowlist %s is not a regular file" % real)
    directory = os.path.dirname(real)
    _check_owned_by_root(directory, "the allowlist's directory")
    while directory != os.path.dirname(directory):
        directory = os.path.dirname(directory)
        # in a sticky directory only the owner of an entry (root, checked one level down) may replace it
        _check_owned_by_root(directory, "directory", sticky_ok=True)
    return real


def _glob_match(path, pattern):
    """Shell-style match of a path: each '/'-separated part on its own, so '*' never crosses a '/'."""
    parts, pattern_parts = path.split("/"), os.path.normpath(pattern).split("/")
    return len(parts) == len(pattern_parts) and all(
        fnmatch.fnmatchcase(part, part_pattern) for part, part_pattern in zip(parts, pattern_parts)
    )


class Allowlist:
    def __init__(self, path, launches, setup_files, env_names):
        self.path = path
        self.launches = launches
        self.setup_files = setup_files
        self.env_names = env_names

    @classmethod
    def load(cls, path=None):
        """The allowlist in PATH, by default the robot's (ROBOT_ALLOWLIST, looked up at the call)."""
        path = path or ROBOT_ALLOWLIST
        if not os.path.exists(path):
            raise AllowlistError(
                "no allowlist at %s: nothing may be launched on this robot until the ros_robot role writes one"
                " (variable ros_robot_allowlist)" % path
            )
        real = _check_trusted_file(os.path.abspath(path))
        try:
            with open(real) as handle:
                data = json.load(handle)
        except (OSError, ValueError) as exc:
            raise AllowlistError("cannot read allowlist %s: %s" % (path, exc)) from exc
        if not isinstance(data, dict):
            raise AllowlistError("allowlist %s: expected a JSON object" % path)
        launches = data.get("launches") or []
        for entry in launches:
            if not isinstance(entry, dict) or not (("package" in entry and "launch_file" in entry) or "path" in entry):
                raise AllowlistError(
                    "allowlist %s: each launch needs package and launch_file, or path: %r" % (path, entry)
                )
        env_names = data.get("env_names") or []
        if not isinstance(env_names, list) or not all(isinstance(n, str) and n for n in env_names):
            raise AllowlistError("allowlist %s: env_names must be a list of names or patterns" % path)
        return cls(path, launches, list(data.get("setup_files") or []), env_names)

    def allows_launch(self, ros_version, package=None, launch_file=None, path=None):
        real = os.path.realpath(path) if path else None
        for entry in self.launches:
            if entry.get("ros_version") not in (None, ros_version):
                continue
            if real is not None and "path" in entry:
                matched = _glob_match(real, entry["path"])
            elif real is None and "package" in entry:
                matched = fnmatch.fnmatchcase(package, entry["package"]) and fnmatch.fnmatchcase(
                    launch_file, entry["launch_file"]
                )
            else:
                matched = False
            if matched:
                return True
        return False

    def check_launch(self, ros_version, package=None, launch_file=None, path=None):
        if not self.allows_launch(ros_version, package, launch_file, path):
            what = "path %s" % os.path.realpath(path) if path else "package %s, launch file %s" % (package, launch_file)
            raise AllowlistError(
                "the robot's allowlist (%s) does not allow %s (ROS %d)" % (self.path, what, ros_version)
            )

    def check_setup_file(self, setup_file):
        real = os.path.realpath(setup_file)
        if not any(_glob_match(real, pattern) for pattern in self.setup_files):
            raise AllowlistError("the robot's allowlist (%s) does not allow sourcing %s" % (self.path, real))

    def allows_env_name(self, name):
        """May a caller set the variable NAME (env, secret_env)? The rule fails closed:

        - the tag never;
        - the ROS network variables (FREE_ENV_NAMES) always;
        - a name the allowlist's env_names spells out;
        - a name one of its patterns (shell-style) matches, unless the name is of a family that decides which
          code runs (LD_*, PYTHON*, OPENSSL_*, ROS_*, *PATH*, ...: those need their exact name);
        - nothing else.
        """
        if name == TAG_NAME:
            return False
        if name in FREE_ENV_NAMES or name in self.env_names:
            return True
        patterns = [p for p in self.env_names if any(c in p for c in "*?[")]
        return not decides_code(name) and any(fnmatch.fnmatchcase(name, p) for p in patterns)

    def check_env_name(self, name):
        if self.allows_env_name(name):
            return
        if name == TAG_NAME:
            raise AllowlistError("%s is the tag ros_launch gives every process of a launch; it cannot be set" % name)
        if decides_code(name):
            raise AllowlistError(
                "%s decides which code runs, so only its exact name in the robot's allowlist (%s, env_names) can "
                "allow setting it" % (name, self.path)
            )
        raise AllowlistError(
            "%s is not a variable a launch may set: the robot's allowlist (%s, env_names) does not name it. A launch "
            "may set the ROS network variables (%s) and what the allowlist names"
            % (name, self.path, ", ".join(sorted(FREE_ENV_NAMES)))
        )
