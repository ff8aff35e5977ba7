"""The object store: stored objects by type and name, the resourceVersion counter, field managers by uid."""

import json


def clone(obj):
    """A deep copy of a JSON document (faster than copy.deepcopy for plain data)."""
    return json.loads(json.dumps(obj))


class Store:
    def __init__(self, on_change=None):
        self._objects = {}  # (group, plural) -> {(namespace, name): object}
        self._dependents = {}  # owner uid -> {(group, plural, namespace, name)}
        self.managers = {}  # uid -> FieldManagers
        self.revision = 0
        self._on_change = on_change or (lambda rtype, event, obj: None)  # what watchers are told

    def next_revision(self):
        self.revision += 1
        return str(self.revision)

    @staticmethod
    def _namespace(rtype, namespace):
        return namespace if rtype.namespaced else None

    def get(self, rtype, namespace, name):
        return self._objects.get((rtype.group, rtype.plural), {}).get((self._namespace(rtype, namespace), name))

    def items(self, rtype, namespace=None):
        """Stored objects of ``rtype``, in ``namespace`` when given, sorted by namespace and name."""
        table = self._objects.get((rtype.group, rtype.plural), {})
        keys = sorted(k for k in table if namespace is None or k[0] == namespace)
        return [table[k] for k in keys]

    def put(self, rtype, obj):
        meta = obj["metadata"]
        key = (self._namespace(rtype, meta.get("namespace")), meta["name"])
        table = self._objects.setdefault((rtype.group, rtype.plural), {})
        previous = table.get(key)
        if previous is not None:
            self._unindex(rtype, previous)
        table[key] = obj
        for ref in meta.get("ownerReferences") or []:
            self._dependents.setdefault(ref.get("uid"), set()).add((rtype.group, rtype.plural, *key))
        self._on_change(rtype, "ADDED" if previous is None else "MODIFIED", obj)

    def remove(self, rtype, obj):
        meta = obj["metadata"]
        table = self._objects.get((rtype.group, rtype.plural), {})
        if table.pop((self._namespace(rtype, meta.get("namespace")), meta["name"]), None) is None:
            return
        self._unindex(rtype, obj)
        self.managers.pop(meta.get("uid"), None)
        # a deletion is a change of its own, with its own resourceVersion
        gone = dict(obj, metadata=dict(meta, resourceVersion=self.next_revision()))
        self._on_change(rtype, "DELETED", gone)

    def drop_type(self, rtype):
        for obj in self.items(rtype):
            self.remove(rtype, obj)
        self._objects.pop((rtype.group, rtype.plural), None)

    def _unindex(self, rtype, obj):
        meta = obj["metadata"]
        key = (rtype.group, rtype.plural, self._namespace(rtype, meta.get("namespace")), meta["name"])
        for ref in meta.get("ownerReferences") or []:
            dependents = self._dependents.get(ref.get("uid"))
            if dependents:
                dependents.discard(key)
                if not dependents:
                    del self._dependents[ref.get("uid")]

    def dependents(self, uid):
        """(group, plural, namespace, name) of the objects whose ownerReferences name ``uid``."""
        return sorted(self._dependents.get(uid, ()), key=lambda k: (k[0], k[1], k[2] or "", k[3]))

    def owned(self, rtype, owner):
        """Stored objects of ``rtype`` that name ``owner`` (by uid) in their ownerReferences."""
        found = []
        for group, plural, namespace, name in self.dependents(owner["metadata"]["uid"]):
            if (group, plural) == (rtype.group, rtype.plural):
                obj = self.get_by_key(group, plural, namespace, name)
                if obj is not None:
                    found.append(obj)
        return found

    def get_by_key(self, group, plural, namespace, name):
        return self._objects.get((group, plural), {}).get((namespace, name))

    def namespaced_keys(self, namespace):
        """(group, plural, name) of every object stored in ``namespace``."""
        keys = []
        for (group, plural), table in self._objects.items():
            keys.extend((group, plural, name) for ns, name in table if ns == namespace)
        return sorted(keys)
