"""Field paths: how server-side apply names the fields of an object.

A path is a tuple of segments: a field name (str), or ``("k", key, value)`` for the item of a keyed list whose
``key`` field equals ``value``. ``leaf_paths`` lists the fields an object sets; atomic lists, empty maps and
scalars are leaves.
"""

import json

from .listkeys import merge_key

MISSING = object()
# metadata the server owns; never part of anyone's field set
SYSTEM_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "generation",
        "managedFields",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    }
)


def _names(path):
    return tuple(segment for segment in path if isinstance(segment, str))


def owned_view(obj, subresource=""):
    """The part of ``obj`` whose fields managers own: ``status`` for the status subresource, else the rest."""
    if subresource == "status":
        return {"status": obj["status"]} if obj.get("status") not in (None, {}) else {}
    view = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "status", "metadata")}
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SYSTEM_METADATA}
    if metadata:
        view["metadata"] = metadata
    return view


def leaf_paths(obj, keyed=True, path=()):
    """The set of leaf paths of ``obj``."""
    paths = set()
    _collect(obj, keyed, path, paths)
    return paths


def _collect(value, keyed, path, paths):
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _collect(item, keyed, (*path, key), paths)
        return
    if isinstance(value, list) and value and keyed:
        key = merge_key(_names(path))
        if key and all(isinstance(item, dict) and key in item for item in value):
            for item in value:
                _collect(item, keyed, (*path, ("k", key, item[key])), paths)
            return
    paths.add(path)


def value_at(obj, path):
    node = obj
    for segment in path:
        if isinstance(segment, tuple):
            if not isinstance(node, list):
                return MISSING
            node = next(
                (item for item in node if isinstance(item, dict) and item.get(segment[1]) == segment[2]), MISSING
            )
        elif isinstance(node, dict) and segment in node:
            node = node[segment]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node


def delete_at(obj, path):
    """Remove the field at ``path`` from ``obj`` in place, pruning maps and lists it leaves empty."""
    if not path:
        return
    if len(path) >= 2 and isinstance(path[-2], tuple) and path[-1] == path[-2][1]:
        delete_at(obj, path[:-1])  # releasing a list item's key releases the item
        return
    parent = value_at(obj, path[:-1])
    last = path[-1]
    if isinstance(last, tuple) and isinstance(parent, list):
        parent[:] = [item for item in parent if not (isinstance(item, dict) and item.get(last[1]) == last[2])]
    elif isinstance(parent, dict) and not isinstance(last, tuple):
        parent.pop(last, None)
    else:
        return
    if not parent and len(path) > 1:
        delete_at(obj, path[:-1])


def overlaps(a, b):
    """Whether one path is the other or contains it."""
    shorter = min(len(a), len(b))
    return a[:shorter] == b[:shorter]


def render(path):
    """A path as the SSA conflict messages print it, e.g. ``.spec.template.spec.containers[name="c"].image``."""
    out = []
    for segment in path:
        if isinstance(segment, tuple):
            out.append("[%s=%s]" % (segment[1], json.dumps(segment[2])))
        else:
            out.append("." + segment)
    return "".join(out)


def to_fields_v1(paths):
    """Render a set of paths as a ``fieldsV1`` trie."""
    root = {}
    for path in paths:
        node = root
        for segment in path:
            if isinstance(segment, tuple):
                label = "k:" + json.dumps({segment[1]: segment[2]}, separators=(",", ":"))
                node = node.setdefault(label, {".": {}})
            else:
                node = node.setdefault("f:" + segment, {})
    return root
