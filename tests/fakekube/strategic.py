"""Strategic merge patch, the subset kubectl and the kubernetes Python client send.

Maps merge recursively and ``null`` deletes; lists with a merge key (listkeys.py) merge item by item; set
lists (finalizers) take the union; other lists are replaced. Directives: ``$patch: replace|delete`` on maps
and list items, ``$deleteFromPrimitiveList/<field>``, ``$retainKeys``; ``$setElementOrder/<field>`` is
accepted and ignored (this server keeps the existing order and appends new items).
"""

import copy

from .listkeys import is_set_list, merge_key


def strategic_merge(target, patch, path=(), keyed=True):
    """Return ``target`` with ``patch`` applied; ``keyed=False`` treats every list as atomic (custom resources)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = dict(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            result[field] = [item for item in result.get(field) or [] if item not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(result.get(key), value, (*path, key), keyed)
        else:
            merged = strategic_merge(result.get(key), value, (*path, key), keyed)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(current, patch_items, path, keyed):
    if keyed and is_set_list(path):
        merged = list(current or [])
        merged.extend(item for item in patch_items if item not in merged)
        return merged
    key = merge_key(path) if keyed else None
    if not key or not all(isinstance(item, dict) for item in patch_items):
        return [copy.deepcopy(item) for item in patch_items if not _is_directive_item(item)]
    if any(isinstance(item, dict) and item.get("$patch") == "replace" for item in patch_items):
        return [copy.deepcopy(item) for item in patch_items if not _is_directive_item(item)]
    merged = [item for item in current or [] if isinstance(item, dict)]
    for item in patch_items:
        position = next((i for i, have in enumerate(merged) if have.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if position is not None:
                merged.pop(position)
        elif position is None:
            merged.append(strategic_merge({}, item, path, keyed))
        else:
            merged[position] = strategic_merge(merged[position], item, path, keyed)
    return merged


def _is_directive_item(item):
    return isinstance(item, dict) and set(item) == {"$patch"}
