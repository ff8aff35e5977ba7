# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Desktop users as the inventory declares them: check every entry, then fill in the role's defaults.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

``normalize_users`` looks at ALL entries before it returns, and raises DesktopSpecError with one line
per problem, so that a play can refuse bad input before it changes anything. Names are checked, never
rewritten: "Alice" or "bob_smith" is an error that says what a valid name looks like, because a silently
rewritten name would give the user a different URL, volume and DNS record than the admin expects.
"""

import re

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity as quantity

STATES = ("present", "absent", "restarted")
# Object names are "<user>-clouddesktop-storage" (27 more characters would break the 63-character
# limit of labels and Service names); 40 leaves room for both.
MAX_NAME_LENGTH = 40
USER_KEYS = frozenset(
    [
        "name",
        "state",
        "environment",
        "cpu",
        "cpu_limit",
        "memory",
        "memory_limit",
        "gpu",
        "storage",
        "image",
        "image_tag",
        "tailscale_auth_key",
        "purge_data",
        "confirm_purge",
    ]
)
# RFC 1123 label that also starts with a letter (RFC 1035), as Service names need.
_DNS_LABEL_RE = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_NAME_RE = re.compile(r"(?=.{1,253}\Z)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*")
_IMAGE_RE = re.compile(r"[a-z0-9]([-a-z0-9._/:]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
HOST_KEYS = ("vnc", "code")


class DesktopSpecError(ValueError):
    """Bad desktop declarations; ``problems`` lists every one."""

    def __init__(self, problems):
        super().__init__(
            "%d problem(s) in the desktop users, nothing was changed:\n- %s" % (len(problems), "\n- ".join(problems))
        )
        self.problems = problems


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


def normalize_users(users, settings):
    """Check ``users`` (the inventory's list) and return them complete, in the same order.

    ``settings`` holds the role's defaults; see roles/cloud_desktop/vars/main.yml (_cloud_desktop_settings).
    Each returned dict has: name, state, environment, namespace, cpu, cpu_limit, memory, memory_limit
    (canonical quantities), gpu (int), storage, image, cuda (bool), hosts ({vnc, code}), purge_data
    (bool, only true when confirmed), threads (int, from the CPU limit) and has_tailscale_key (the key
    itself stays out, so that the result can be shown).
    """
    problems = []
    if not isinstance(users, list):
        raise DesktopSpecError(["the desktop users must be a list of dicts, got %s" % type(users).__name__])
    problems.extend(_settings_problems(settings))
    if problems:
        raise DesktopSpecError(problems)
    seen = {}
    result = []
    for index, entry in enumerate(users):
        where = "desktop user #%d" % (index + 1)
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            where = "desktop user %r" % entry["name"]
        entry_problems, normalized = _normalize_one(entry, settings)
        problems.extend("%s: %s" % (where, p) for p in entry_problems)
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(
                "%s: declared twice (entries #%d and #%d); each user may have one desktop"
                % (where, seen[name] + 1, index + 1)
            )
        elif isinstance(name, str):
            seen[name] = index
        if normalized is None:
            continue
        result.append(normalized)
    if problems:
        raise DesktopSpecError(problems)
    return result


def _settings_problems(settings):
    problems = []
    namespaces = settings.get("namespaces") or {}
    if not isinstance(namespaces, dict) or not namespaces:
        problems.append("cloud_desktop_namespaces must map environment names to namespaces, e.g. {prod: ...}")
        return problems
    for env, ns in namespaces.items():
        problem = dns_label_problem(ns)
        if problem:
            problems.append("cloud_desktop_namespaces[%s]: %s" % (env, problem))
    if settings.get("default_environment") not in namespaces:
        problems.append(
            "cloud_desktop_default_environment %r is not one of %s"
            % (settings.get("default_environment"), ", ".join(sorted(namespaces)))
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
    for key in ("cpu", "cpu_limit", "memory", "memory_limit", "storage"):
        problem = _quantity_problem(settings.get(key), "cloud_desktop_%s" % key)
        if problem:
            problems.append(problem)
    return problems


def _normalize_one(entry, settings):
    if not isinstance(entry, dict):
        return ["must be a dict with at least a name, got %r" % (entry,)], None
    problems = []
    unknown = sorted(set(entry) - USER_KEYS)
    if unknown:
        problems.append("unknown key(s) %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(USER_KEYS))))
    name = entry.get("name")
    name_problem = dns_label_problem(name, MAX_NAME_LENGTH)
    if name_problem:
        return [*problems, "name " + name_problem], None

    state = entry.get("state", "present")
    if state not in STATES:
        problems.append("state %r is unknown (use one of: %s)" % (state, ", ".join(STATES)))
    env = entry.get("environment", settings["default_environment"])
    if env not in settings["namespaces"]:
        problems.append("environment %r is unknown (use one of: %s)" % (env, ", ".join(sorted(settings["namespaces"]))))

    texts, sizes = {}, {}
    for key in ("cpu", "memory", "storage"):
        value = entry.get(key, settings[key])
        problem = _quantity_problem(value, key)
        if problem:
            problems.append(problem)
        else:
            texts[key], sizes[key] = _as_text(value), quantity.parse(value)
    for key in ("cpu_limit", "memory_limit"):
        request_key = key[: -len("_limit")]
        if key in entry:
            problem = _quantity_problem(entry[key], key)
            if problem:
                problems.append(problem)
                continue
            texts[key], sizes[key] = _as_text(entry[key]), quantity.parse(entry[key])
            if request_key in sizes and sizes[key] < sizes[request_key]:
                problems.append("%s %s is below the request %s %s" % (key, entry[key], request_key, texts[request_key]))
        elif request_key in sizes:
            # An undeclared limit follows a larger request, so that "cpu: 8" alone just works.
            if sizes[request_key] > quantity.parse(settings[key]):
                texts[key], sizes[key] = texts[request_key], sizes[request_key]
            else:
                texts[key], sizes[key] = _as_text(settings[key]), quantity.parse(settings[key])

    gpu, gpu_problem = _gpu_count(entry.get("gpu", settings.get("gpu", 0)))
    if gpu_problem:
        problems.append(gpu_problem)

    image, image_problems = _image(entry, settings, gpu)
    problems.extend(image_problems)

    purge = entry.get("purge_data", False)
    if not isinstance(purge, bool):
        problems.append("purge_data must be true or false, got %r" % (purge,))
        purge = False
    if purge:
        if state != "absent":
            problems.append("purge_data only goes with state: absent")
        if entry.get("confirm_purge") != name:
            problems.append(
                "purge_data deletes the user's volume for good; confirm it with confirm_purge: %s "
                "(got %r)" % (name, entry.get("confirm_purge"))
            )
    elif "confirm_purge" in entry:
        problems.append("confirm_purge is only meaningful together with purge_data: true")

    key = entry.get("tailscale_auth_key")
    if key is not None and not isinstance(key, str):
        problems.append("tailscale_auth_key must be a string")

    hosts = {}
    if state != "absent" or settings.get("domain"):
        hosts, host_problems = _hosts(name, settings)
        problems.extend(host_problems)

    if problems:
        return problems, None
    return [], {
        "name": name,
        "state": state,
        "environment": env,
        "namespace": settings["namespaces"][env],
        "cpu": quantity.canonical(texts["cpu"]),
        "cpu_limit": quantity.canonical(texts["cpu_limit"]),
        "memory": quantity.canonical(texts["memory"]),
        "memory_limit": quantity.canonical(texts["memory_limit"]),
        "storage": quantity.canonical(texts["storage"]),
        "gpu": gpu,
        "image": image,
        "cuda": gpu > 0,
        "hosts": hosts,
        "purge_data": bool(purge),
        "threads": max(1, int(sizes["cpu_limit"])),
        "has_tailscale_key": bool(key),
    }


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
        return "%s: %s" % (label, exc)
    if amount <= 0:
        return "%s %r must be more than zero" % (label, value)
    return None


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
        if gpu > 0 and not _is_cuda_image(image, settings):
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


def _is_cuda_image(image, settings):
    tag = image.split("@")[0].rsplit("/", 1)[-1].partition(":")[2]
    return bool(re.search(settings.get("cuda_image_pattern") or "cuda", tag))


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
