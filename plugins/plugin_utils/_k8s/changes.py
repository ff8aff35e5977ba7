# Copyright (c) 2026 Rover Lab
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which desired objects a server-side apply would change, decided from objects already read.

PRIVATE to the collection: not a public API. Standard library only, Python 3.8 syntax.

Reconciling a hundred desktops object by object costs two API round trips per object even when nothing
changed. Instead, the caller lists each kind once and asks ``plan_changes``, which keeps an object out of
the apply only when BOTH hold:

* every field the manifest sets has that value in the live object (so hand edits of managed fields,
  e.g. ``kubectl edit``, are found and put back), and
* the live object carries the hash of exactly this manifest in the ``APPLIED_HASH`` annotation (so a field
  that the manifest no longer sets, which server-side apply would remove, is found too).

Anything else goes to the apply; an object that was applied needlessly costs one request and reports
``changed=false``, so the test errs on the safe side.
"""

import hashlib
import json

from ansible_collections.roverlab.clouddesktop.plugins.plugin_utils._k8s import quantity

APPLIED_HASH = "clouddesktop.roverlab.io/applied-hash"
# On pod templates: changes exactly when the pods are replaced, so a plan can say which workloads restart.
TEMPLATE_HASH = "clouddesktop.roverlab.io/template-hash"
# Parts of an object where the server rewrites quantities into canonical form ("1.5Gi" -> "1536Mi").
_QUANTITY_KEYS = frozenset(["requests", "limits", "capacity", "allocatable", "sizeLimit", "hard"])


def plain_copy(value):
    """A copy made of plain dicts, lists, str, int, float, bool and None.

    Callers hand in whatever their framework uses (Ansible 2.19 passes lazy containers and tagged strings,
    whose deepcopy copies the whole templating context); everything here works on plain copies.
    """
    if isinstance(value, dict):
        return {str(k): plain_copy(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_copy(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def parse_live(value, namespaces=None):
    """Objects read from the API, as {kind: [objects]} or [objects], given as such or as JSON text (also per kind).

    Playbooks hand over what they read as JSON text: a string is far cheaper for Ansible to keep and pass
    than hundreds of nested objects. With ``namespaces``, objects in other namespaces are left out.
    """
    data = json.loads(value) if isinstance(value, str) else plain_copy(value)

    def keep(items):
        return [
            item
            for item in items or []
            if namespaces is None or (item.get("metadata") or {}).get("namespace") in namespaces
        ]

    if isinstance(data, dict):
        return {kind: keep(json.loads(items) if isinstance(items, str) else items) for kind, items in data.items()}
    return keep(data)


def _namespace(obj):
    return (obj.get("metadata") or {}).get("namespace")


def object_key(obj, kind=None):
    """(kind, namespace, name) of an object; items of a list read back have no kind, so it may be given."""
    meta = obj.get("metadata") or {}
    return (kind or obj.get("kind"), meta.get("namespace") or "", meta.get("name"))


def manifest_hash(obj, annotation=APPLIED_HASH):
    """A short, stable hash of a manifest (or pod template), ignoring the hash annotation itself."""
    bare = plain_copy(obj)
    meta = bare.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    annotations.pop(annotation, None)
    if "annotations" in meta and not annotations:
        del meta["annotations"]
    text = json.dumps(bare, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def with_hash(obj):
    """A copy of the manifest with its hash annotations set (and its pod template's, if it has one)."""
    stamped = plain_copy(obj)
    template = (stamped.get("spec") or {}).get("template")
    if isinstance(template, dict):
        template_hash = manifest_hash(template, TEMPLATE_HASH)
        template.setdefault("metadata", {}).setdefault("annotations", {})[TEMPLATE_HASH] = template_hash
    stamped.setdefault("metadata", {}).setdefault("annotations", {})[APPLIED_HASH] = manifest_hash(stamped)
    return stamped


def _template_hash(obj):
    template = (obj.get("spec") or {}).get("template") or {}
    return ((template.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_HASH)


def contains(live, desired, in_quantities=False):
    """Whether every field set in ``desired`` has the same value in ``live``."""
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(
            key in live and contains(live[key], value, in_quantities or key in _QUANTITY_KEYS)
            for key, value in desired.items()
        )
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contains(have, want, in_quantities) for have, want in zip(live, desired))
    # True == 1 in Python, not in Kubernetes. (Types are not compared as such: Ansible hands filters its own
    # str subclasses.)
    if live == desired and isinstance(live, bool) == isinstance(desired, bool):
        return True
    if in_quantities:
        try:
            return quantity.equal(live, desired)
        except quantity.QuantityError:
            return False
    return False


def plan_changes(desired, live_by_kind):
    """Split manifests into those to apply and those already in place.

    ``desired``: manifests (dicts with kind and metadata). ``live_by_kind``: {kind: [objects as read]}.
    Returns a dict: ``apply`` (manifests with their hash annotation, in the given order), ``created``
    (keys of objects that do not exist yet), ``updated`` (keys of existing objects that will change),
    ``template_changed`` (keys of existing workloads whose pod template changes, i.e. that restart) and
    ``unchanged`` (how many need nothing).
    """
    live = {}
    for kind, items in (live_by_kind or {}).items():
        for item in items or []:
            live[object_key(item, kind)] = item
    plan = {"apply": [], "created": [], "updated": [], "template_changed": [], "unchanged": 0}
    for manifest in desired:
        stamped = with_hash(manifest)
        key = object_key(stamped)
        current = live.get(key)
        label = "%s %s/%s" % key if key[1] else "%s %s" % (key[0], key[2])
        if current is None:
            plan["apply"].append(stamped)
            plan["created"].append(label)
        elif contains(current, stamped):
            plan["unchanged"] += 1
        else:
            plan["apply"].append(stamped)
            plan["updated"].append(label)
            if _template_hash(stamped) and _template_hash(stamped) != _template_hash(current):
                plan["template_changed"].append(label)
    return plan
