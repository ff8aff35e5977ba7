"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902); strategic merge patch lives in strategic.py."""

import copy

from .errors import ApiError


def merge_patch(target, patch):
    """RFC 7386: objects merge recursively, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class JsonPatchError(ApiError):
    def __init__(self, message):
        super().__init__(422, "Invalid", "the server rejected our request due to an error in our request: " + message)


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError("invalid JSON pointer %r" % path)
    return [part.replace("~1", "/").replace("~0", "~") for part in path[1:].split("/")]


def _parent(doc, parts, path):
    node = doc
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[_index(node, part, path, allow_end=False)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise JsonPatchError("doc is missing path: %s" % path)
    return node


def _index(node, part, path, allow_end):
    if part == "-" and allow_end:
        return len(node)
    if not part.isdigit():
        raise JsonPatchError("invalid array index %r in %s" % (part, path))
    index = int(part)
    if index > len(node) or (index == len(node) and not allow_end):
        raise JsonPatchError("array index out of bounds in %s" % path)
    return index


def _get(doc, path):
    parts = _pointer(path)
    if not parts:
        return doc
    parent = _parent(doc, parts, path)
    last = parts[-1]
    if isinstance(parent, list):
        return parent[_index(parent, last, path, allow_end=False)]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    raise JsonPatchError("doc is missing path: %s" % path)


def _add(doc, path, value):
    parts = _pointer(path)
    if not parts:
        return value
    parent = _parent(doc, parts, path)
    if isinstance(parent, list):
        parent.insert(_index(parent, parts[-1], path, allow_end=True), value)
    elif isinstance(parent, dict):
        parent[parts[-1]] = value
    else:
        raise JsonPatchError("doc is missing path: %s" % path)
    return doc


def _remove(doc, path):
    parts = _pointer(path)
    if not parts:
        raise JsonPatchError("cannot remove the whole document")
    parent = _parent(doc, parts, path)
    if isinstance(parent, list):
        del parent[_index(parent, parts[-1], path, allow_end=False)]
    elif isinstance(parent, dict) and parts[-1] in parent:
        del parent[parts[-1]]
    else:
        raise JsonPatchError("unable to remove nonexistent key: %s" % path)
    return doc


def json_patch(document, operations):
    """Apply RFC 6902 operations to a copy of ``document``."""
    if not isinstance(operations, list):
        raise JsonPatchError("a JSON patch must be a list of operations")
    doc = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation or "path" not in operation:
            raise JsonPatchError("invalid JSON patch operation %r" % (operation,))
        op, path = operation["op"], operation["path"]
        if op in ("add", "replace", "test") and "value" not in operation:
            raise JsonPatchError("missing value for %s operation" % op)
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation["value"]))
        elif op == "remove":
            doc = _remove(doc, path)
        elif op == "replace":
            _get(doc, path)
            doc = _add(_remove(doc, path), path, copy.deepcopy(operation["value"])) if path else operation["value"]
        elif op in ("move", "copy"):
            value = copy.deepcopy(_get(doc, operation.get("from", "")))
            if op == "move":
                doc = _remove(doc, operation["from"])
            doc = _add(doc, path, value)
        elif op == "test":
            if _get(doc, path) != operation["value"]:
                raise JsonPatchError("testing value %s failed" % path)
        else:
            raise JsonPatchError("unexpected kind of JSON patch operation %r" % op)
    return doc
