#!/usr/bin/python
# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r"""
---
module: drift_check
short_description: Tell in one round trip whether a host already is as a role would make it
version_added: 1.3.0
description:
  - Compares files, installed packages, kernel parameters and services on a host with what the caller expects,
    and reports every difference. Changes nothing.
  - Made for a role's no-change fast path, as the collection's roles use it - the role works out on the controller
    what it would write, asks this module once, and skips its install and configure tasks when RV(in_sync) is
    true. A difference, or anything the module cannot check, only sends the role down its ordinary path, so an
    expectation that is too strict costs time and never correctness.
author:
  - Rover Lab infrastructure team (@roverlab)
options:
  files:
    description: Paths and what they must be.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path on the host.
        type: path
        required: true
      state:
        description:
          - V(file) a regular file, V(directory), V(absent) nothing there, V(exists) anything there (for
            example a kernel feature's entry under C(/sys) or C(/proc)).
        type: str
        choices: [file, directory, absent, exists]
        default: file
      sha256:
        description: The file's SHA-256 (lower case hex). Omit it to not check the content.
        type: str
      mode:
        description: The permission bits as an octal string (V(0644)). Omit it to not check them.
        type: str
      owner:
        description: Owning user name. Omit it to not check it.
        type: str
      group:
        description: Owning group name. Omit it to not check it.
        type: str
  packages:
    description:
      - Debian package names that must be installed (C(dpkg-query) status C(install ok installed)).
      - A name with a version constraint (C(=), C(<), C(>), C(*)) is reported as a difference, since only the
        package manager can judge it.
    type: list
    elements: str
    default: []
  sysctl:
    description: Kernel parameters and the values they must have now (read from C(/proc/sys)).
    type: dict
    default: {}
  services:
    description: systemd units and their state.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The unit's name.
        type: str
        required: true
      enabled:
        description: Whether C(systemctl is-enabled) must succeed. Omit it to not check.
        type: bool
      active:
        description: Whether C(systemctl is-active) must succeed. Omit it to not check.
        type: bool
attributes:
  check_mode:
    support: full
    description: Reads only; check mode returns the same answer.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
"""

EXAMPLES = r"""
- name: Look for anything to do
  roverlab.clouddesktop.drift_check:
    files:
      - path: /etc/rancher/k3s/config.yaml
        sha256: "{{ lookup('ansible.builtin.template', 'config.yaml.j2') | hash('sha256') }}"
        mode: "0600"
        owner: root
        group: root
      - path: /etc/rancher/k3s/stale.toml
        state: absent
    packages: [curl, jq]
    sysctl:
      net.ipv4.ip_forward: 1
    services:
      - name: k3s
        enabled: true
        active: true
  register: drift

- name: Install and configure
  ansible.builtin.include_tasks: install.yml
  when: not drift.in_sync
"""

RETURN = r"""
in_sync:
  description: Whether nothing differs from what was expected.
  returned: always
  type: bool
  sample: false
differences:
  description: One line per difference, in the order of the options.
  returned: always
  type: list
  elements: str
  sample: ["/etc/rancher/k3s/config.yaml: content differs", "package jq: not installed"]
"""

import grp
import hashlib
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule

CONSTRAINT_CHARS = "=<>*"


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _name(lookup, ident):
    try:
        return lookup(ident)[0]
    except KeyError:
        return str(ident)


def file_differences(entry):
    path, state = entry["path"], entry["state"]
    try:
        info = os.lstat(path)
    except OSError:
        return [] if state == "absent" else ["%s: missing" % path]
    if state == "absent":
        return ["%s: present, must be absent" % path]
    if state == "exists":
        return []
    if state == "directory" and not stat.S_ISDIR(info.st_mode):
        return ["%s: not a directory" % path]
    if state == "file" and not stat.S_ISREG(info.st_mode):
        return ["%s: not a regular file" % path]
    found = []
    if entry.get("mode") and stat.S_IMODE(info.st_mode) != int(entry["mode"], 8):
        found.append("%s: mode %04o, must be %s" % (path, stat.S_IMODE(info.st_mode), entry["mode"]))
    for key, lookup, ident in (("owner", pwd.getpwuid, info.st_uid), ("group", grp.getgrgid, info.st_gid)):
        actual = _name(lookup, ident) if entry.get(key) else None
        if actual is not None and actual != entry[key]:
            found.append("%s: %s %s, must be %s" % (path, key, actual, entry[key]))
    if state == "file" and entry.get("sha256") and _sha256(path) != entry["sha256"].lower():
        found.append("%s: content differs" % path)
    return found


def package_differences(module, names):
    found = [("package %s: has a version constraint" % n) for n in names if any(c in n for c in CONSTRAINT_CHARS)]
    plain = [n for n in names if not any(c in n for c in CONSTRAINT_CHARS)]
    if not plain:
        return found
    dpkg_query = module.get_bin_path("dpkg-query")
    if dpkg_query is None:
        return [*found, "packages: dpkg-query not found"]
    # dpkg-query exits 1 when a name is unknown; its output still lists the known ones
    _rc, out, _err = module.run_command(
        [dpkg_query, "-W", "-f=${Package}\t${Status}\n", *plain], expand_user_and_vars=False
    )
    installed = set()
    for line in out.splitlines():
        package, _sep, status = line.partition("\t")
        if status == "install ok installed":
            installed.add(package.split(":")[0])
    return found + ["package %s: not installed" % n for n in plain if n not in installed]


def sysctl_differences(parameters):
    found = []
    for key, value in parameters.items():
        path = os.path.join("/proc/sys", *key.split("."))
        try:
            with open(path) as handle:
                current = " ".join(handle.read().split())
        except OSError:
            found.append("sysctl %s: not available" % key)
            continue
        wanted = " ".join(str(value).split())
        if current != wanted:
            found.append("sysctl %s: %s, must be %s" % (key, current, wanted))
    return found


def service_differences(module, services):
    systemctl = module.get_bin_path("systemctl")
    if services and systemctl is None:
        return ["services: systemctl not found"]
    found = []
    for service in services:
        for check, verb in (("enabled", "is-enabled"), ("active", "is-active")):
            if service.get(check) is None:
                continue
            rc, _out, _err = module.run_command([systemctl, verb, service["name"]], expand_user_and_vars=False)
            if (rc == 0) != service[check]:
                found.append("service %s: %s%s" % (service["name"], "" if rc == 0 else "not ", check))
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {"type": "str", "default": "file", "choices": ["file", "directory", "absent", "exists"]},
                    "sha256": {"type": "str"},
                    "mode": {"type": "str"},
                    "owner": {"type": "str"},
                    "group": {"type": "str"},
                },
            },
            "packages": {"type": "list", "elements": "str", "default": []},
            "sysctl": {"type": "dict", "default": {}},
            "services": {
                "type": "list",
                "elements": "dict",
                "default": [],
                "options": {
                    "name": {"type": "str", "required": True},
                    "enabled": {"type": "bool"},
                    "active": {"type": "bool"},
                },
            },
        },
        supports_check_mode=True,
    )
    for entry in module.params["files"]:
        if entry.get("mode"):
            try:
                int(entry["mode"], 8)
            except ValueError:
                module.fail_json(msg="files: mode of %s must be an octal string such as 0644" % entry["path"])
    differences = []
    for entry in module.params["files"]:
        differences.extend(file_differences(entry))
    differences.extend(package_differences(module, module.params["packages"]))
    differences.extend(sysctl_differences(module.params["sysctl"]))
    differences.extend(service_differences(module, module.params["services"]))
    module.exit_json(changed=False, in_sync=not differences, differences=differences)


if __name__ == "__main__":
    main()
