# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A class roster (CSV) turned into desktop entries, with every bad row reported at once by its line number.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

The roster has a header line and one student per line:

    user,tier,size,gpu,email,key
    alice,prod,medium,0,alice@example.edu,ssh-ed25519 AAAA... alice@laptop

Only ``user`` is needed; ``environment`` is taken as the older name of ``tier``. A size is a name from the
roster's sizes (``{small: {cpu: "1", memory: 2Gi}, ...}``), which give the entry's cpu, memory, limits, shm_size or
storage. Every rule of an entry is the desktop spec's (spec.normalize: names, reserved names, tiers, sizes, gpu,
keys); this module only adds what a roster has beyond an inventory: line numbers, sizes by name, emails,
duplicate rows, users the inventory declares already, and whether the GPUs fit the cluster (capacity.fit).
"""

import csv
import io
import re

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import spec
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import capacity

COLUMNS = ("user", "tier", "size", "gpu", "email", "key")
COLUMN_ALIASES = {"environment": "tier", "ssh_key": "key"}
SIZE_KEYS = ("cpu", "cpu_limit", "memory", "memory_limit", "shm_size", "storage")
_EMAIL_RE = re.compile(r"[^@\s,]+@[^@\s,]+\.[^@\s,]+")


def check(text, settings, sizes, default_size, inventory_users=(), previous=None):
    """Read and check a roster. Never raises for bad input.

    ``text``: the CSV. ``settings``: cloud_desktop's settings (as for spec.check). ``sizes``: {name: {key: value}};
    ``default_size``: the size of a row that names none (may be empty: the role's defaults). ``inventory_users``:
    names that desktop_users declares already. ``previous``: the roster state of the last run ({users: {name:
    entry}, offboarded: {name: {entry, ...}}}), for the removals.

    Returns {problems, message, entries, lines {user: line}, students [{user, email, line}], users, removed
    [entries of the users the last run had and this roster has not], stop_entries and purge_entries [those entries
    with state stopped, or absent with a confirmed purge], gpu_rows [{name, amount, line}]}.
    """
    problems = list(_sizes_problems(sizes, default_size))
    rows, header_problems = _rows(text)
    problems.extend(header_problems)
    entries, lines, students, gpu_rows, seen = [], {}, [], [], {}
    taken = set(inventory_users or ())
    for line, row in rows:
        user = row.get("user", "")
        where = "line %d" % line + (" (%s)" % user if user else "")
        if not user:
            problems.append("%s: no user" % where)
            continue
        if user in seen:
            problems.append("%s: user %r is also on line %d; a student has one desktop" % (where, user, seen[user]))
            continue
        seen[user] = line
        if user in taken:
            problems.append(
                "%s: %r is declared in the inventory's desktop_users too; keep it in one place" % (where, user)
            )
        entry, row_problems = _entry(row, sizes, default_size)
        problems.extend("%s: %s" % (where, p) for p in row_problems)
        spec_problems, _warnings, desktop = spec.normalize(entry, settings, spec.KUBERNETES, len(entries))
        problems.extend("%s: %s" % (where, p) for p in spec_problems)
        email = row.get("email", "")
        if email and not _EMAIL_RE.fullmatch(email):
            problems.append("%s: email %r is not an address" % (where, email))
        if desktop is None:
            continue
        entries.append(entry)
        lines[user] = line
        students.append({"user": user, "email": email, "line": line, "tier": desktop["tier"]})
        if desktop["gpu"] > 0:
            gpu_rows.append({"name": user, "amount": desktop["gpu"], "line": line})
    users = [e["name"] for e in entries]
    removed = []
    if not problems:
        removed = _left(previous or {}, seen)
        # a student who left and is back on the roster: their stopped desktop runs again
        offboarded = (previous or {}).get("offboarded") or {}
        for entry in entries:
            if entry["name"] in offboarded:
                entry["state"] = "started"
    return _result(problems, entries, lines, students, users, removed, gpu_rows)


def _left(previous, seen):
    """Entries of the students the last run had (on the roster, or offboarded and not purged) who are not back."""
    left = {}
    for name, entry in (previous.get("offboarded") or {}).items():
        if name not in seen and isinstance(entry, dict) and isinstance(entry.get("entry"), dict):
            left[name] = dict(entry["entry"], name=name)
    for name, entry in (previous.get("users") or {}).items():
        if name not in seen and isinstance(entry, dict):
            left[name] = dict(entry, name=name)
    return [left[name] for name in sorted(left)]


def check_gpus(result, nodes, pods, resource, user_label):
    """Add to a check's result the rows whose GPUs do not fit the cluster (a pod takes its GPUs from one node);
    the roster's own desktops give back what they hold. Returns the result, with ``message`` updated."""
    wanted = [{"name": r["name"], "amount": r["amount"], "labels": {user_label: r["name"]}} for r in result["gpu_rows"]]
    if not wanted:
        return result
    fit = capacity.fit(nodes, pods, resource, wanted)
    if fit["fits"]:
        return result
    line_of = {r["name"]: r["line"] for r in result["gpu_rows"]}
    room = ", ".join("%s %s of %s free" % (n["node"], n["free"], n["allocatable"]) for n in fit["per_node"])
    total = sum(r["amount"] for r in result["gpu_rows"])
    problems = list(result["problems"])
    for item in sorted(fit["unplaced"], key=lambda i: line_of[i["name"]]):
        problems.append(
            "line %d (%s): gpu %s does not fit: the roster asks for %d %s in all, on one node each, and the "
            "nodes have %s" % (line_of[item["name"]], item["name"], item["amount"], total, resource, room or "none")
        )
    return _result(
        problems,
        result["entries"],
        result["lines"],
        result["students"],
        result["users"],
        result["removed"],
        result["gpu_rows"],
    )


def next_state(result, previous, backups, purged, roster_name, backup_enabled=True):
    """The roster state to keep for the next run: the students it manages (their entries) and the ones who left and
    were stopped, with where their backup is; a confirmed purge forgets them. ``backups``: {user: {location,
    sha256}} of this run."""
    before = (previous or {}).get("offboarded") or {}
    offboarded = {}
    if not purged:
        for entry in result["removed"]:
            name = entry["name"]
            if name in before:
                offboarded[name] = before[name]
                continue
            backup = (backups or {}).get(name)
            if backup:
                where, checksum = backup.get("location"), backup.get("sha256")
            else:
                where = (
                    "no data to back up" if backup_enabled else "not backed up (cloud_desktop_roster_backup is false)"
                )
                checksum = None
            offboarded[name] = {"entry": _lasting(entry), "backup": where, "sha256": checksum}
    return {
        "version": 1,
        "roster": roster_name,
        "users": {e["name"]: _lasting(e) for e in result["entries"]},
        "offboarded": offboarded,
    }


def _lasting(entry):
    """An entry as the state keeps it: without this run's state."""
    return {k: v for k, v in entry.items() if k not in ("state", "purge_data", "confirm_purge")}


def _result(problems, entries, lines, students, users, removed, gpu_rows):
    message = ""
    if problems:
        message = "%d problem(s) in the roster, nothing was changed:\n- %s" % (len(problems), "\n- ".join(problems))
    return {
        "problems": problems,
        "message": message,
        "entries": entries,
        "lines": lines,
        "students": students,
        "users": users,
        "removed": removed,
        # what the removed students' entries become: stopped (kept), or purged once the purge is confirmed
        "stop_entries": [dict(e, state="stopped") for e in removed],
        "purge_entries": [dict(e, state="absent", purge_data=True, confirm_purge=e["name"]) for e in removed],
        "gpu_rows": gpu_rows,
    }


def _rows(text):
    """([(line, {column: value})], problems): the data rows under the header; blank and '#' lines skipped."""
    if not isinstance(text, str):
        return [], ["the roster must be CSV text"]
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header, problems, rows = None, [], []
    for fields in reader:
        line = reader.line_num
        if not any(f.strip() for f in fields) or fields[0].lstrip().startswith("#"):
            continue
        fields = [f.strip() for f in fields]
        if header is None:
            header = [COLUMN_ALIASES.get(f.lower(), f.lower()) for f in fields]
            unknown = [f for f in header if f not in COLUMNS]
            if unknown:
                problems.append(
                    "line %d: unknown column(s) %s (columns: %s; environment is taken as tier)"
                    % (line, ", ".join(unknown), ", ".join(COLUMNS))
                )
            twice = sorted({f for f in header if header.count(f) > 1})
            if twice:
                problems.append("line %d: column(s) %s given twice" % (line, ", ".join(twice)))
            if "user" not in header:
                problems.append("line %d: the header has no user column (the first line names the columns)" % line)
                return [], problems
            continue
        if len(fields) > len(header):
            problems.append("line %d: %d fields, the header has %d" % (line, len(fields), len(header)))
            continue
        rows.append((line, {name: value for name, value in zip(header, fields) if value != ""}))
    if header is None:
        problems.append("the roster is empty (a header line, then one line per student)")
    return rows, problems


def _entry(row, sizes, default_size):
    """A desktop_users entry from a row, and the row's own problems (the spec checks the entry itself)."""
    entry, problems = {"name": row["user"]}, []
    if "tier" in row:
        entry["tier"] = row["tier"]
    size = row.get("size", default_size)
    if size:
        if size not in (sizes or {}):
            problems.append("size %r is unknown (sizes: %s)" % (size, ", ".join(sorted(sizes or {})) or "none"))
        else:
            entry.update(sizes[size])
    if "gpu" in row:
        entry["gpu"] = int(row["gpu"]) if re.fullmatch(r"\d+", row["gpu"]) else row["gpu"]
    if "key" in row:
        entry["ssh_authorized_keys"] = [row["key"]]
    return entry, problems


def _sizes_problems(sizes, default_size):
    if not isinstance(sizes, dict):
        return ["the roster sizes must map names to sizes ({small: {cpu: '1', memory: 2Gi}})"]
    problems = []
    for name, size in sorted(sizes.items()):
        if not isinstance(size, dict) or not size:
            problems.append("roster size %r must give some of %s" % (name, ", ".join(SIZE_KEYS)))
        elif set(size) - set(SIZE_KEYS):
            problems.append(
                "roster size %r: %s cannot be set by a size (only %s)"
                % (name, ", ".join(sorted(set(size) - set(SIZE_KEYS))), ", ".join(SIZE_KEYS))
            )
    if default_size and default_size not in sizes:
        problems.append(
            "the default roster size %r is not one of the sizes (%s)" % (default_size, ", ".join(sorted(sizes)))
        )
    return problems
