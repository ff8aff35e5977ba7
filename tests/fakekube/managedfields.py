"""Field ownership for server-side apply: which manager set which field, rendered as ``managedFields``."""

from .fieldpaths import overlaps, render, to_fields_v1, value_at


class _Entry:
    __slots__ = ("_fields", "_paths", "api_version", "time")

    def __init__(self, api_version, paths, time, fields=None):
        self.api_version = api_version
        self._paths = paths
        self._fields = fields
        self.time = time

    @property
    def paths(self):
        return self._paths

    @paths.setter
    def paths(self, paths):
        self._paths = paths
        self._fields = None

    def fields_v1(self):
        """The paths as a fieldsV1 trie, rendered once per change (rendering is the costly part of a write)."""
        if self._fields is None:
            self._fields = to_fields_v1(self._paths)
        return self._fields

    def copy(self):
        return _Entry(self.api_version, set(self._paths), self.time, self._fields)


class FieldManagers:
    """The ``managedFields`` of one object, keyed by (manager, operation, subresource)."""

    def __init__(self, entries=None):
        self._entries = entries or {}

    def copy(self):
        return FieldManagers({key: entry.copy() for key, entry in self._entries.items()})

    def _set(self, key, api_version, paths, now):
        entry = self._entries.get(key)
        if entry is None:
            self._entries[key] = _Entry(api_version, paths, now)
        elif entry.paths != paths or entry.api_version != api_version:
            entry.paths, entry.api_version, entry.time = paths, api_version, now

    def _take(self, paths, except_key):
        """Remove ``paths`` (and paths overlapping them) from every entry but ``except_key``."""
        for key, entry in self._entries.items():
            if key != except_key and entry.paths:
                kept = {p for p in entry.paths if not any(overlaps(p, q) for q in paths)}
                if kept != entry.paths:
                    entry.paths = kept

    def _drop_empty_updates(self):
        for key in [k for k, e in self._entries.items() if not e.paths and k[1] == "Update"]:
            del self._entries[key]

    def record_update(self, manager, subresource, api_version, changed, removed, now):
        """An Update (create, PUT, patch): changed fields move to ``manager``; removed fields leave everyone."""
        key = (manager, "Update", subresource)
        if removed:
            self.forget(removed, drop_empty=False)
        if changed:
            self._take(changed, key)
            current = self._entries.get(key)
            self._set(key, api_version, (set(current.paths) if current else set()) | set(changed), now)
        self._drop_empty_updates()

    def applied_paths(self, manager, subresource):
        entry = self._entries.get((manager, "Apply", subresource))
        return set(entry.paths) if entry else set()

    def owned_by_others(self, manager, subresource):
        paths = set()
        for key, entry in self._entries.items():
            if key != (manager, "Apply", subresource):
                paths |= entry.paths
        return paths

    def conflicts(self, manager, subresource, paths, live, config):
        """(manager, operation, path) for each applied field that differs from live and someone else owns."""
        found = []
        for path in sorted(paths, key=render):
            if value_at(live, path) == value_at(config, path):
                continue  # same value: shared ownership, no conflict
            for (other, operation, other_sub), entry in self._entries.items():
                if other_sub != subresource or (other == manager and operation == "Apply"):
                    continue
                if any(overlaps(path, owned) for owned in entry.paths):
                    found.append((other, operation, path))
        return found

    def record_apply(self, manager, subresource, api_version, paths, force, now):
        key = (manager, "Apply", subresource)
        if force:
            self._take(paths, key)
        self._set(key, api_version, set(paths), now)
        self._drop_empty_updates()

    def forget(self, removed, drop_empty=True):
        """Fields that left the object leave every manager's set."""
        for entry in self._entries.values():
            kept = {p for p in entry.paths if not any(overlaps(p, q) for q in removed)}
            if kept != entry.paths:
                entry.paths = kept
        if drop_empty:
            self._drop_empty_updates()

    def render(self):
        rendered = []
        for (manager, operation, subresource), entry in self._entries.items():
            item = {
                "manager": manager,
                "operation": operation,
                "apiVersion": entry.api_version,
                "time": entry.time,
                "fieldsType": "FieldsV1",
                "fieldsV1": entry.fields_v1(),
            }
            if subresource:
                item["subresource"] = subresource
            rendered.append(item)
        return rendered
