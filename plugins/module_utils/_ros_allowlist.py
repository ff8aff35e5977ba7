# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The robot's allowlist: which launches, setup files and protected variables a caller may use.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

The file is JSON, written by the ros_robot role (ros_robot_allowlist), for example::

    {"launches": [{"package": "turtlebot3_bringup", "launch_file": "*.launch"},
                  {"path": "/opt/lab/launch/*.launch", "ros_version": 1}],
     "setup_files": ["/opt/ros/noetic/setup.bash", "/etc/roverlab/ros_launch/env.sh"],
     "env_names": ["TURTLEBOT3_MODEL"]}

Patterns are shell-style (fnmatch, case-sensitive); paths are compared after resolving symlinks and '..'.
The file only counts when the launch account cannot change it: owned by root, not writable by group or
others, in a directory with the same properties. No allowlist means nothing may be launched.
"""

import fnmatch
import json
import os
import stat


class AllowlistError(Exception):
    pass


def _check_owned_by_root(path, what):
    info = os.stat(path)
    if info.st_uid != 0:
        raise AllowlistError("%s %s must be owned by root (it is uid %d)" % (what, path, info.st_uid))
    if info.st_mode & 0o022:
        raise AllowlistError(
            "%s %s must not be writable by group or others (mode %o)" % (what, path, info.st_mode & 0o777)
        )
    return info


class Allowlist:
    def __init__(self, path, launches, setup_files, env_names):
        self.path = path
        self.launches = launches
        self.setup_files = setup_files
        self.env_names = env_names

    @classmethod
    def load(cls, path):
        if not os.path.exists(path):
            raise AllowlistError(
                "no allowlist at %s: nothing may be launched on this robot until the ros_robot role writes one"
                " (variable ros_robot_allowlist)" % path
            )
        info = _check_owned_by_root(path, "allowlist")
        if not stat.S_ISREG(info.st_mode):
            raise AllowlistError("allowlist %s is not a regular file" % path)
        _check_owned_by_root(os.path.dirname(os.path.abspath(path)), "the allowlist's directory")
        try:
            with open(path) as handle:
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
        return cls(path, launches, list(data.get("setup_files") or []), list(data.get("env_names") or []))

    def allows_launch(self, ros_version, package=None, launch_file=None, path=None):
        real = os.path.realpath(path) if path else None
        for entry in self.launches:
            if entry.get("ros_version") not in (None, ros_version):
                continue
            if real is not None and "path" in entry:
                matched = fnmatch.fnmatchcase(real, os.path.normpath(entry["path"]))
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
        if not any(fnmatch.fnmatchcase(real, os.path.normpath(p)) for p in self.setup_files):
            raise AllowlistError("the robot's allowlist (%s) does not allow sourcing %s" % (self.path, real))

    def check_env_name(self, name):
        if name not in self.env_names:
            raise AllowlistError(
                "%s decides which code runs, so only the robot's allowlist (%s, env_names) can allow setting it"
                % (name, self.path)
            )
