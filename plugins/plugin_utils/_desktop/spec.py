# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One desktop spec for both targets (Kubernetes: cloud_desktop, one Docker host: desktop_docker).

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

Both roles read the inventory's ``desktop_users`` and hand it to ``check`` with their settings. ``check``
looks at EVERY entry (also when a run acts on one user), never raises for bad input, and returns the problems
as data, so that the role fails with one message from one task. An entry's keys, their meaning and which
target takes them are listed once, in KEYS; the roles' meta/argument_specs.yml and docs/desktops.md list the
same keys (a unit test keeps them equal). Names are checked, never rewritten: a silently rewritten name would
give the user another URL, volume and DNS record than the admin expects.
"""

import collections
import re

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._desktop import contract, docker, idle
from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity

KUBERNETES = "kubernetes"
DOCKER = "docker"
TARGETS = (KUBERNETES, DOCKER)
BOTH = TARGETS
# present: the desktop exists (a new one starts; a stopped one stays stopped); started: it runs; stopped: it
# keeps its volume, password, DNS name and Tailscale identity and frees CPU, memory and GPU; restarted: it
# runs and restarts now; absent: removed, volume and password kept unless purged.
STATES = ("present", "started", "stopped", "restarted", "absent")
# A user name becomes a Kubernetes object name "<user>-clouddesktop-storage" (at most 63 characters), a host
# name label, a Docker container "<prefix>-<user>" and its host name, and a Tailscale host name: a DNS label
# that starts with a letter, at most 40 characters, fits all of them.
MAX_NAME_LENGTH = 40
# Names the collection and Kubernetes reserve (docs/desktops.md, "Names"): the Docker target names helper
# containers "<prefix>-<user>-backup" and "-restore", so a user called "alice-backup" would be replaced by
# alice's backup. Labs add their own with cloud_desktop_reserved_names / desktop_docker_reserved_names.
RESERVED_NAMES = ("default", "kubernetes", "localhost")
RESERVED_PREFIXES = ("kube-",)
RESERVED_SUFFIXES = ("-backup", "-restore")
MIN_PASSWORD_LENGTH = 12
ROLE_PREFIX = {KUBERNETES: "cloud_desktop_", DOCKER: "desktop_docker_"}

Key = collections.namedtuple("Key", "name kind targets option description")
# kind: the argument_specs type and what the check accepts; option: may be given for one run (-e key=value)
KEYS = (
    Key("name", "str", BOTH, False, "The user: a DNS label (a-z, 0-9, '-'), starting with a letter, at most 40."),
    Key("state", "str", BOTH, True, "present (default), started, stopped, restarted or absent."),
    Key("tier", "str", (KUBERNETES,), True, "The tier (a key of cloud_desktop_namespaces, e.g. prod or dev)."),
    Key("cpu", "raw", BOTH, True, "CPU request, a Kubernetes quantity (2, 1.5, 500m)."),
    Key("cpu_limit", "raw", BOTH, True, "CPU limit; left out, a larger request raises it."),
    Key("memory", "raw", BOTH, True, "Memory request, a Kubernetes quantity (4Gi, 512Mi)."),
    Key("memory_limit", "raw", BOTH, True, "Memory limit; left out, a larger request raises it."),
    Key("shm_size", "raw", BOTH, True, "Size of the memory-backed /dev/shm."),
    Key("gpu", "int", BOTH, True, "Whole GPUs (0 is none); above 0 the desktop gets the CUDA image."),
    Key("storage", "raw", (KUBERNETES,), True, "Size of a new volume (local-path volumes cannot grow later)."),
    Key("image", "str", BOTH, True, "A full image reference, instead of the role's image and tag."),
    Key("image_tag", "str", BOTH, True, "Another tag of the role's image."),
    Key("resolution", "str", BOTH, True, "Screen size, WIDTHxHEIGHT (1920x1080)."),
    Key("env", "dict", BOTH, False, "Extra environment (no secrets; the image contract's names are refused)."),
    Key("ssh_authorized_keys", "list", BOTH, False, "Public keys that may log in over SSH (port 2222)."),
    Key("tailscale_auth_key", "str", BOTH, False, "This desktop's own Tailscale auth key (vault-encrypted)."),
    Key("password", "str", (DOCKER,), False, "A password from the inventory (vault-encrypted), at least 12."),
    Key("purge_data", "bool", BOTH, True, "With state absent: delete the volume and password too."),
    Key("confirm_purge", "str", BOTH, True, "Must name the user for purge_data to act."),
    Key("slot", "int", (DOCKER,), True, "Added to each host port base; default: the entry's position."),
    Key("labels", "dict", (DOCKER,), False, "Extra container labels."),
    Key("idle_timeout", "raw", BOTH, False, "The idle culler's timeout for this desktop: seconds, 90m, 2h or never."),
)
KEY_NAMES = tuple(k.name for k in KEYS)
_KEY = {k.name: k for k in KEYS}
# Keys that still work, with a warning, and the key that replaces each.
DEPRECATED_KEYS = {"environment": "tier"}
# Keys from desktop_docker before the one spec: refused with what to write instead.
RETIRED_KEYS = {
    "cpus": "cpus is now cpu_limit, a Kubernetes quantity (8, 500m)",
    "memory_reservation": "memory_reservation is now memory (the request); memory_limit is the limit (12Gi)",
    "gpu_count": "gpu_count is gone: gpu is the number of GPUs (gpu: 1)",
}
# One-run options (playbooks desktop.yml and desktop_docker.yml, -e NAME=VALUE) from before the one spec.
DEPRECATED_OPTIONS = {
    KUBERNETES: {"desktop_state": "state", "move_to": "tier"},
    DOCKER: {"desktop_docker_user": "user", "desktop_docker_state": "state"},
}
# Role variables that are gone: an inventory that sets one is refused at once with what to rename.
RETIRED_VARIABLES = {
    "desktop_docker_users": "desktop_users (the same list for the cluster and for Docker hosts)",
    "cloud_desktop_users": "desktop_users",
    "cloud_desktop_default_environment": "cloud_desktop_default_tier",
    "desktop_docker_cpus": "desktop_docker_cpu_limit (a Kubernetes quantity)",
    "desktop_docker_memory_reservation": "desktop_docker_memory (the request; desktop_docker_memory_limit: the limit)",
    "desktop_docker_gpu_count": "desktop_docker_gpu (a number of GPUs)",
    "desktop_docker_gpu_tag_suffix": "desktop_docker_cuda_tag_suffix",
    "desktop_docker_tailscale_auth_key": "desktop_docker_tailscale_shared_auth_key",
    "desktop_docker_purge_data": "-e user=NAME -e state=absent -e purge_data=true -e confirm_purge=NAME",
    "desktop_docker_confirm_purge": "-e user=NAME -e state=absent -e purge_data=true -e confirm_purge=NAME",
}

_DNS_LABEL_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_NAME_RE = re.compile(r"(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*")
_IMAGE_RE = re.compile(r"[a-z0-9]([-a-z0-9._/:]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_RESOLUTION_RE = re.compile(r"[1-9]\d{2,4}x[1-9]\d{2,4}")
_ENV_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SSH_KEY_RE = re.compile(r"(ssh-[a-z0-9-]+|ecdsa-sha2-[a-z0-9-]+|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+=*( [^\r\n]*)?")
_DOCKER_SIZE_RE = re.compile(r"\d+(\.\d+)?[bkmgBKMG]")
_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")
HOST_KEYS = ("vnc", "code")


def dns_label_problem(name, max_length=63):
    """Why ``name`` is not a usable DNS label (lowercase, starts with a letter), or None when it is."""
    if not isinstance(name, str) or not name:
        return "%r is not a name (a non-empty string is needed)" % (name,)
    if len(name) > max_length:
        return "%r is %d characters long; at most %d are allowed" % (name, len(name), max_length)
    if not _DNS_LABEL_RE.fullmatch(name):
        return (
            "%r is not a DNS label: use lowercase letters, digits and '-', start with a letter and end with a "
            "letter or digit (for example %r)" % (name, _suggest_label(name))
        )
    return None


def dns_name_problem(name):
    """Why ``name`` is not a DNS name made of labels, or None when it is."""
    if not isinstance(name, str) or not _DNS_NAME_RE.fullmatch(name):
        return "%r is not a DNS name (lowercase labels of letters, digits and '-', joined by dots)" % (name,)
    return None


def user_name_problem(name, extra_reserved=()):
    """Why ``name`` cannot be a desktop user, or None: the one name rule of both targets."""
    problem = dns_label_problem(name, MAX_NAME_LENGTH)
    if problem:
        return problem
    if name in RESERVED_NAMES or name in (extra_reserved or ()):
        return "%r is a reserved name (reserved: %s)" % (name, _reserved_text(extra_reserved))
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return "%r starts with %r, which Kubernetes reserves" % (name, prefix)
    for suffix in RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return "%r ends with %r, which names the helper containers of another user's desktop" % (name, suffix)
    return None


def _reserved_text(extra):
    names = list(RESERVED_NAMES) + [n for n in extra or () if n not in RESERVED_NAMES]
    return ", ".join(names + ["%s*" % p for p in RESERVED_PREFIXES] + ["*%s" % s for s in RESERVED_SUFFIXES])


def keys_for(target=None):
    """The entry keys a target takes (every key when ``target`` is None)."""
    return [k.name for k in KEYS if target is None or target in k.targets]


def option_names(target):
    """Names a one-run playbook reads (user, the keys that may be given with -e, the old names)."""
    return ["user"] + [k.name for k in KEYS if k.option and target in k.targets] + list(DEPRECATED_OPTIONS[target])


def check(users, settings, target, selection=None, defined_variables=()):
    """Check the inventory's desktops and this run's options; never raises for bad input.

    ``users``: desktop_users as declared. ``settings``: the role's defaults (see the roles' vars/main.yml).
    ``selection``: ``{user: name, options: {key: value}}`` for a run that acts on one user (values given with
    -e arrive as text). ``defined_variables``: names of the variables the inventory defines, to refuse retired
    ones. Returns ``{problems, message, warnings, notes, desktops, selected}``: ``message`` tells every
    problem at once; ``warnings`` name deprecated names still used; ``notes`` say where a one-user run differs
    from the inventory; ``desktops`` are every declared desktop, complete; ``selected`` those this run acts on
    (one when a user is selected).
    """
    if target not in TARGETS:
        raise ValueError("target must be one of %s, got %r" % (", ".join(TARGETS), target))
    problems, warnings = [], []
    for name in sorted(set(defined_variables or ()) & set(RETIRED_VARIABLES)):
        problems.append("%s was renamed: use %s" % (name, RETIRED_VARIABLES[name]))
    problems.extend(_settings_problems(settings, target))
    if not isinstance(users, list):
        problems.append("desktop_users must be a list of dicts, got %s" % type(users).__name__)
    if problems:
        return _result(problems, warnings, [], [], [])

    desktops, seen = [], {}
    for index, entry in enumerate(users):
        where = _where(entry, index)
        entry_problems, entry_warnings, desktop = normalize(entry, settings, target, index)
        problems.extend("%s: %s" % (where, p) for p in entry_problems)
        warnings.extend("%s: %s" % (where, w) for w in entry_warnings)
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(
                "%s: declared twice (entries #%d and #%d); each user may have one desktop"
                % (where, seen[name] + 1, index + 1)
            )
        elif isinstance(name, str):
            seen[name] = index
        if desktop is not None:
            desktops.append(desktop)

    selected, notes = desktops, []
    if selection and selection.get("options") and not (selection.get("user") or _old_user(selection)):
        given = ", ".join("-e %s" % name for name in sorted(selection["options"]))
        problems.append("%s act(s) on one desktop: name it with -e user=NAME" % given)
    elif selection and (selection.get("user") or _old_user(selection)):
        selected, select_problems, select_warnings, notes = _select(users, settings, target, selection, seen, desktops)
        problems.extend(select_problems)
        warnings.extend(select_warnings)
    if target == DOCKER and not problems:
        # the selected desktop is the same dict as its entry in desktops, or a lone one (no desktop_users)
        problems.extend(docker.plan(desktops + [d for d in selected if d["name"] not in seen], settings))
    # a selected entry's own problems were found with the inventory's already
    return _result(list(dict.fromkeys(problems)), list(dict.fromkeys(warnings)), desktops, selected, notes)


def _result(problems, warnings, desktops, selected, notes):
    message = ""
    if problems:
        message = "%d problem(s) in the desktop users, nothing was changed:\n- %s" % (
            len(problems),
            "\n- ".join(problems),
        )
    return {
        "problems": problems,
        "message": message,
        "warnings": warnings,
        "notes": notes,
        "desktops": desktops,
        "selected": selected,
    }


def _where(entry, index):
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        return "desktop user %r" % entry["name"]
    return "desktop user #%d" % (index + 1)


def _old_user(selection):
    return (selection.get("options") or {}).get("desktop_docker_user")


def _select(users, settings, target, selection, seen, desktops):
    """The one desktop of this run: the inventory's entry with this run's options over it.

    Returns (selected, problems, warnings, notes); notes say where this run differs from the inventory.
    """
    problems, warnings, notes = [], [], []
    options = dict(selection.get("options") or {})
    user = selection.get("user") or ""
    for old, new in DEPRECATED_OPTIONS[target].items():
        if old not in options:
            continue
        value = options.pop(old)
        warnings.append("-e %s is deprecated: use -e %s (it works the same)" % (old, new))
        if new == "user":
            user = user or value
        elif new in options:
            problems.append("give -e %s or the older -e %s, not both" % (new, old))
        else:
            options[new] = value
    problem = user_name_problem(user, settings.get("reserved_names"))
    if problem:
        return [], ["the user to act on (-e user=...): %s" % problem], warnings, notes
    allowed = [k.name for k in KEYS if k.option and target in k.targets]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        problems.append("%s cannot be given for one run (options: %s)" % (", ".join(unknown), ", ".join(allowed)))
        return [], problems, warnings, notes
    if user in seen:
        index = seen[user]
        entry = dict(users[index])
        changed = _differences(entry, options)
        if changed:
            notes.append(
                "%s is declared in the inventory with %s; this run uses %s. Put the new values in desktop_users, or "
                "the next run for every desktop sets them back."
                % (
                    user,
                    ", ".join("%s=%s" % (k, entry.get(k, "(default)")) for k in changed),
                    ", ".join("%s=%s" % (k, options[k]) for k in changed),
                )
            )
    elif target == DOCKER and users:
        names = ", ".join(str(e.get("name")) for e in users if isinstance(e, dict))
        return [], ["user %r is not in desktop_users (%s); add it there first" % (user, names)], warnings, notes
    else:
        index, entry = 0, {"name": user}
    for old, new in DEPRECATED_KEYS.items():
        if old in entry and new in options:  # the inventory's older key, overridden for this run
            entry.pop(old)
    entry.update({k: _from_text(k, v) for k, v in options.items()})
    entry_problems, entry_warnings, desktop = normalize(entry, settings, target, index)
    where = "desktop user %r" % user
    problems.extend("%s: %s" % (where, p) for p in entry_problems)
    if user not in seen:  # a declared entry's warnings were given with the inventory's
        warnings.extend("%s: %s" % (where, w) for w in entry_warnings)
    if desktop is None:
        return [], problems, warnings, notes
    for i, other in enumerate(desktops):
        if other["name"] == user:
            desktops[i] = desktop
    return [desktop], problems, warnings, notes


def _differences(entry, options):
    """The keys whose value this run changes, compared as text (-e values are text, the inventory's may not be)."""
    lasting = [k.name for k in KEYS if k.name not in ("state", "purge_data", "confirm_purge")]
    return [k for k in lasting if k in options and str(entry.get(k, "")) != str(options[k])]


def _from_text(key, value):
    """A value given with -e arrives as text: read it as the key's kind."""
    kind = _KEY[key].kind
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if kind == "bool" and text in _TRUE + _FALSE:
        return text in _TRUE
    if kind == "int" and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return value


def normalize(entry, settings, target, index=0):
    """(problems, warnings, desktop or None) for one entry of desktop_users."""
    if not isinstance(entry, dict):
        return ["must be a dict with at least a name, got %r" % (entry,)], [], None
    problems, warnings = [], []
    entry = dict(entry)
    for old, new in DEPRECATED_KEYS.items():
        if old in entry:
            if new in entry:
                problems.append("give %s or the older %s, not both" % (new, old))
            else:
                warnings.append("%s is deprecated: rename it to %s (it works the same)" % (old, new))
                entry[new] = entry.pop(old)
    for old in sorted(set(entry) & set(RETIRED_KEYS)):
        problems.append(RETIRED_KEYS[old])
    unknown = sorted(set(entry) - set(KEY_NAMES) - set(RETIRED_KEYS) - set(DEPRECATED_KEYS))
    if unknown:
        problems.append("unknown key(s) %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(KEY_NAMES))))
    elsewhere = sorted(k for k in entry if k in _KEY and target not in _KEY[k].targets)
    for key in elsewhere:
        other = [t for t in _KEY[key].targets if t != target]
        problems.append("%s is only used on %s desktops, not on %s ones" % (key, other[0], target))
    name = entry.get("name")
    name_problem = user_name_problem(name, settings.get("reserved_names"))
    if name_problem:
        return [*problems, "name " + name_problem], warnings, None

    state = entry.get("state", "present")
    if state not in STATES:
        problems.append("state %r is unknown (use one of: %s)" % (state, ", ".join(STATES)))
    sizes, size_problems = _sizes(entry, settings)
    problems.extend(size_problems)
    gpu, gpu_problem = _gpu_count(entry.get("gpu", settings.get("gpu", 0)))
    if gpu_problem:
        problems.append(gpu_problem)
    image, image_problems = _image(entry, settings, gpu)
    problems.extend(image_problems)
    resolution = entry.get("resolution", settings.get("resolution"))
    if not isinstance(resolution, str) or not _RESOLUTION_RE.fullmatch(resolution):
        problems.append("resolution %r is not WIDTHxHEIGHT (e.g. 1920x1080)" % (resolution,))
    env, env_problems = _env(settings.get("env") or {}, entry.get("env", {}))
    problems.extend(env_problems)
    ssh_keys = entry.get("ssh_authorized_keys", [])
    if not isinstance(ssh_keys, list) or not all(isinstance(k, str) and _SSH_KEY_RE.fullmatch(k) for k in ssh_keys):
        problems.append("ssh_authorized_keys must be a list of public keys, one line each (ssh-ed25519 AAAA... you@pc)")
    problems.extend(_purge_problems(entry, name, state))
    if "idle_timeout" in entry:
        _seconds, idle_problem = idle.parse_timeout(entry["idle_timeout"])
        if idle_problem:
            problems.append(idle_problem)
    for key in ("tailscale_auth_key", "password"):
        if key in entry and not isinstance(entry[key], str):
            problems.append("%s must be a string" % key)
    password = entry.get("password")
    if isinstance(password, str) and (len(password) < MIN_PASSWORD_LENGTH or "\n" in password):
        problems.append("password must be one line of at least %d characters" % MIN_PASSWORD_LENGTH)

    desktop = {
        "name": name,
        "target": target,
        "state": state,
        "gpu": gpu,
        "image": image,
        "cuda": gpu > 0,
        "resolution": resolution,
        "purge_data": entry.get("purge_data") is True,
        "has_tailscale_key": bool(entry.get("tailscale_auth_key")),
        "ports": contract.ports(),
        "secret_env": contract.secret_env(),
        "data_path": contract.DATA_PATH,
    }
    if target == KUBERNETES:
        problems.extend(_kubernetes(desktop, entry, settings, sizes))
    else:
        problems.extend(_docker(desktop, entry, index))
    if problems:
        return problems, warnings, None
    desktop.update({key: quantity.canonical(text) for key, (text, _size) in sizes.items()})
    desktop["threads"] = max(1, int(sizes["cpu_limit"][1]))
    desktop["env"] = contract.environment(resolution, desktop["threads"], gpu, ssh_keys, env)
    return [], warnings, desktop


def _kubernetes(desktop, entry, settings, sizes):
    problems = []
    tier = entry.get("tier", settings["default_tier"])
    if tier not in settings["namespaces"]:
        problems.append("tier %r is unknown (use one of: %s)" % (tier, ", ".join(sorted(settings["namespaces"]))))
    else:
        desktop.update(tier=tier, namespace=settings["namespaces"][tier])
    value = entry.get("storage", settings.get("storage"))
    problem = _quantity_problem(value, "storage")
    if problem:
        problems.append(problem)
    else:
        sizes["storage"] = (_as_text(value), quantity.parse(value))
    desktop["hosts"] = {}
    if desktop["state"] != "absent" or settings.get("domain"):
        desktop["hosts"], host_problems = _hosts(desktop["name"], settings)
        problems.extend(host_problems)
    return problems


def _docker(desktop, entry, index):
    slot = entry.get("slot", index)
    if isinstance(slot, bool) or not isinstance(slot, int) or slot < 0:
        return ["slot %r must be a whole number, 0 or more" % (slot,)]
    labels = entry.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(k, str) for k in labels):
        return ["labels must be a dict of names to values"]
    desktop.update(
        slot=slot,
        entry_labels={k: str(v) for k, v in labels.items()},
        has_password=bool(entry.get("password")),
    )
    return []


def _settings_problems(settings, target):
    prefix = ROLE_PREFIX[target]
    problems = []
    if not isinstance(settings, dict):
        return ["the role's settings must be a dict"]
    for key in ("cpu", "cpu_limit", "memory", "memory_limit", "shm_size") + (
        ("storage",) if target == KUBERNETES else ()
    ):
        problem = _quantity_problem(settings.get(key), prefix + key)
        if problem:
            problems.append(problem)
    length = settings.get("password_length")
    if isinstance(length, bool) or not isinstance(length, int) or length < MIN_PASSWORD_LENGTH:
        problems.append("%spassword_length %r must be at least %d" % (prefix, length, MIN_PASSWORD_LENGTH))
    reserved = settings.get("reserved_names") or []
    if not isinstance(reserved, list) or not all(isinstance(n, str) for n in reserved):
        problems.append("%sreserved_names must be a list of names" % prefix)
    if target == KUBERNETES:
        problems.extend(_kubernetes_settings_problems(settings))
    else:
        problems.extend(docker.settings_problems(settings))
    return problems


def _kubernetes_settings_problems(settings):
    problems = []
    namespaces = settings.get("namespaces") or {}
    if not isinstance(namespaces, dict) or not namespaces:
        return ["cloud_desktop_namespaces must map tiers to namespaces, e.g. {prod: clouddesktop-prod}"]
    for tier, ns in namespaces.items():
        problem = dns_label_problem(ns)
        if problem:
            problems.append("cloud_desktop_namespaces[%s]: %s" % (tier, problem))
    if settings.get("default_tier") not in namespaces:
        problems.append(
            "cloud_desktop_default_tier %r is not one of %s"
            % (settings.get("default_tier"), ", ".join(sorted(namespaces)))
        )
    patterns = settings.get("host_patterns") or {}
    missing = [k for k in HOST_KEYS if not patterns.get(k)]
    if missing:
        problems.append("cloud_desktop_host_patterns needs a pattern for: %s" % ", ".join(missing))
    for key, pattern in patterns.items():
        if key not in HOST_KEYS:
            problems.append("cloud_desktop_host_patterns has an unknown key %r (known: vnc, code)" % key)
        elif "{user}" not in str(pattern):
            problems.append("cloud_desktop_host_patterns[%s] %r must contain {user}" % (key, pattern))
    return problems


def _sizes(entry, settings):
    """{key: (text, amount)} of the requests and limits; a limit left out follows a larger request."""
    problems, sizes = [], {}
    for key in ("cpu", "memory", "shm_size"):
        value = entry.get(key, settings.get(key))
        problem = _quantity_problem(value, key)
        if problem:
            problems.append(problem)
        else:
            sizes[key] = (_as_text(value), quantity.parse(value))
    for key in ("cpu_limit", "memory_limit"):
        request_key = key[: -len("_limit")]
        if key in entry:
            problem = _quantity_problem(entry[key], key)
            if problem:
                problems.append(problem)
                continue
            sizes[key] = (_as_text(entry[key]), quantity.parse(entry[key]))
            if request_key in sizes and sizes[key][1] < sizes[request_key][1]:
                problems.append(
                    "%s %s is below the request %s %s" % (key, entry[key], request_key, sizes[request_key][0])
                )
        elif request_key in sizes:
            # An undeclared limit follows a larger request, so that "cpu: 8" alone just works.
            default = (_as_text(settings[key]), quantity.parse(settings[key]))
            sizes[key] = sizes[request_key] if sizes[request_key][1] > default[1] else default
    return sizes, problems


def _gpu_count(value):
    """GPUs as an int; extra vars (-e gpu=1) arrive as text."""
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0, "gpu %r must be a whole number of GPUs (0, 1, 2, ...)" % (value,)
    if value < 0:
        return 0, "gpu %d is negative" % value
    return value, None


def _as_text(value):
    return value if isinstance(value, str) else str(value)


def _quantity_problem(value, label):
    try:
        amount = quantity.parse(value)
    except quantity.QuantityError as exc:
        hint = ""
        if isinstance(value, str) and _DOCKER_SIZE_RE.fullmatch(value.strip()):
            hint = " (Docker's %s is %s%si here)" % (value, value.strip()[:-1], value.strip()[-1].upper())
        return "%s: %s%s" % (label, exc, hint)
    if amount <= 0:
        return "%s %r must be more than zero" % (label, value)
    return None


def _env(defaults, extra):
    if not isinstance(extra, dict) or not isinstance(defaults, dict):
        return {}, ["env must be a dict of variable names to values"]
    env = dict(defaults, **extra)
    problems = []
    for name, value in env.items():
        if not isinstance(name, str) or not _ENV_NAME_RE.fullmatch(name):
            problems.append("env name %r is not a variable name" % (name,))
        elif name in contract.RESERVED_ENV:
            problems.append("env %s is set by the collection (the image contract); it cannot be given" % name)
        elif isinstance(value, (dict, list)) or value is None:
            problems.append("env %s must be text or a number" % name)
    return env, problems


def _purge_problems(entry, name, state):
    problems = []
    purge = entry.get("purge_data", False)
    if not isinstance(purge, bool):
        problems.append("purge_data must be true or false, got %r" % (purge,))
    elif purge:
        if state != "absent":
            problems.append("purge_data only goes with state: absent")
        if entry.get("confirm_purge") != name:
            problems.append(
                "purge_data deletes the user's volume and password for good; confirm it with confirm_purge: %s "
                "(got %r)" % (name, entry.get("confirm_purge"))
            )
    elif "confirm_purge" in entry:
        problems.append("confirm_purge is only meaningful together with purge_data: true")
    return problems


def _image(entry, settings, gpu):
    """The image reference for a user: an explicit ``image``, or the role's image with the right tag."""
    problems = []
    suffix = settings.get("cuda_tag_suffix") or "-cuda"
    if "image" in entry:
        image = entry["image"]
        if "image_tag" in entry:
            problems.append("give either image (a full reference) or image_tag, not both")
        if not isinstance(image, str) or not _IMAGE_RE.fullmatch(image):
            return None, [*problems, "image %r is not an image reference such as cosi119/tb3-ros:v2.1.1" % (image,)]
        if gpu > 0 and not _is_cuda_image(image):
            problems.append(
                "gpu %d needs a CUDA image, but image %r is not one (its tag must contain %r, e.g. %s%s); "
                "leave image out to get the CUDA variant of the default image" % (gpu, image, "cuda", image, suffix)
            )
        return image, problems
    tag = entry.get("image_tag", settings.get("image_tag"))
    if not isinstance(tag, str) or not _TAG_RE.fullmatch(tag):
        return None, ["image_tag %r is not an image tag" % (tag,)]
    if gpu > 0 and not tag.endswith(suffix):
        tag += suffix
    return "%s:%s" % (settings.get("image"), tag), problems


def _is_cuda_image(image):
    tag = image.split("@")[0].rsplit("/", 1)[-1].partition(":")[2]
    return "cuda" in tag


def _hosts(name, settings):
    domain = settings.get("domain") or ""
    problems = []
    if not domain:
        return {}, ["no domain: set cloud_desktop_domain (e.g. ros.example.org) so that the desktop gets its URLs"]
    problem = dns_name_problem(domain)
    if problem:
        return {}, ["cloud_desktop_domain: " + problem]
    hosts = {}
    for key in HOST_KEYS:
        host = settings["host_patterns"][key].replace("{user}", name).replace("{domain}", domain)
        problem = dns_name_problem(host)
        if problem:
            problems.append("host for %s: %s" % (key, problem))
        hosts[key] = host
    return hosts, problems


def _suggest_label(name):
    text = re.sub(r"[^a-z0-9-]+", "-", str(name).lower()).strip("-")
    text = re.sub(r"^[^a-z]+", "", text)
    return text[:MAX_NAME_LENGTH].rstrip("-") or "alice"


def keys_description():
    """The line of both roles' meta/argument_specs.yml that lists a desktop entry's keys (a unit test compares).

    The keys are listed there as text, not as suboptions: Ansible's own argument check would refuse an unknown
    key first, with the whole argument spec printed and one problem at a time, where ``check`` reports every
    problem at once in one short message, the same for both roles.
    """
    names = []
    for key in KEYS:
        names.append(key.name if key.targets == BOTH else "%s (%s only)" % (key.name, key.targets[0]))
    return "Keys (the collection's desktop spec, docs/desktops.md, Desktop entries): %s." % ", ".join(names)
