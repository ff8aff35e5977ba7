"""Deletion: finalizers and deletionTimestamp, cascading to dependents and namespace contents, eviction.

Garbage collection and namespace teardown are always on (they are what makes ``state: absent`` work); they run
synchronously, so a deleted owner's dependents are gone when the DELETE returns, whatever the propagation
policy (except Orphan, which leaves them and drops their ownerReference).
"""

from .clock import now
from .errors import bad_request, conflict, forbidden, too_many_requests
from .options import controller_write
from .selectors import selector_matches
from .store import clone

PROPAGATION = ("Orphan", "Background", "Foreground")
# kube-apiserver's NamespaceLifecycle admission protects these
UNDELETABLE_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


def _success(rtype, obj):
    details = {"name": obj["metadata"]["name"], "kind": rtype.plural, "uid": obj["metadata"].get("uid")}
    if rtype.group:
        details["group"] = rtype.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}


class DeletionMixin:
    def delete(self, rtype, namespace, name, options, delete_options=None):
        """Delete one object; returns the body to answer with (the object while it is still terminating)."""
        delete_options = delete_options or {}
        with self.operation():
            obj = self.get(rtype, namespace, name)
            if rtype.kind == "Namespace" and name in UNDELETABLE_NAMESPACES:
                raise forbidden(rtype, name, "this namespace may not be deleted")
            self._check_preconditions(rtype, obj, delete_options.get("preconditions") or {})
            policy = delete_options.get("propagationPolicy")
            if delete_options.get("orphanDependents") is True:
                policy = "Orphan"
            if policy and policy not in PROPAGATION:
                raise bad_request('propagationPolicy: Unsupported value: "%s"' % policy)
            if options.dry_run:
                return obj
            if policy == "Orphan":
                self._orphan_dependents(obj)
            finalizers = obj["metadata"].get("finalizers") or []
            if rtype.kind == "Namespace" or finalizers:
                terminating = self._mark_terminating(rtype, obj)
                if rtype.kind == "Namespace":
                    self._empty_namespace(terminating)
                current = self.store.get(rtype, namespace, name)
                return current if current is not None else _success(rtype, terminating)
            self._remove(rtype, obj)
            return _success(rtype, obj)

    def delete_collection(self, rtype, namespace, label_selector, field_selector, options, delete_options=None):
        with self.operation():
            listed = self.list(rtype, namespace, label_selector, field_selector)
            for obj in list(listed["items"]):
                meta = obj["metadata"]
                if self.store.get(rtype, meta.get("namespace"), meta["name"]) is not None:
                    self.delete(rtype, meta.get("namespace"), meta["name"], options, delete_options)
            return dict(listed, items=[] if not options.dry_run else listed["items"])

    def _check_preconditions(self, rtype, obj, preconditions):
        meta = obj["metadata"]
        for field in ("uid", "resourceVersion"):
            wanted = preconditions.get(field)
            if wanted and wanted != meta.get(field):
                raise conflict(
                    rtype,
                    meta["name"],
                    "Precondition failed: %s in precondition: %s, %s in object meta: %s"
                    % (field.capitalize() if field == "uid" else "ResourceVersion", wanted, field, meta.get(field)),
                )

    def _mark_terminating(self, rtype, obj):
        if obj["metadata"].get("deletionTimestamp"):
            return obj
        terminating = clone(obj)
        terminating["metadata"]["deletionTimestamp"] = now()
        terminating["metadata"]["deletionGracePeriodSeconds"] = 0
        if rtype.kind == "Namespace":
            terminating["status"] = {"phase": "Terminating"}
        terminating["metadata"]["resourceVersion"] = self.store.next_revision()
        self.store.put(rtype, terminating)
        self._notify(rtype, obj, terminating)
        return terminating

    def _remove(self, rtype, obj):
        """Drop ``obj`` from the store and collect what depended on it."""
        meta = obj["metadata"]
        self.store.remove(rtype, obj)
        self._notify(rtype, obj, None)
        if rtype.kind == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            for served in self.registry.remove_group_resource(
                spec.get("group"), (spec.get("names") or {}).get("plural")
            ):
                self.store.drop_type(served)
        self._collect_dependents(meta.get("uid"))
        namespace = meta.get("namespace")
        if namespace:
            self._finish_namespace_if_empty(namespace)

    def _dependents(self, uid):
        for group, plural, namespace, name in self.store.dependents(uid):
            obj = self.store.get_by_key(group, plural, namespace, name)
            if obj is not None:
                yield self._type_of(obj), obj

    def _type_of(self, obj):
        return self.registry.by_kind(obj["apiVersion"], obj["kind"])

    def _collect_dependents(self, uid):
        for rtype, dependent in list(self._dependents(uid)):
            refs = dependent["metadata"].get("ownerReferences") or []
            living = [r for r in refs if r.get("uid") != uid and self._owner_exists(dependent, r)]
            if living:
                self._drop_owner_reference(rtype, dependent, uid)
            elif dependent["metadata"].get("finalizers"):
                self._mark_terminating(rtype, dependent)
            elif self.store.get(rtype, dependent["metadata"].get("namespace"), dependent["metadata"]["name"]):
                self._remove(rtype, dependent)

    def _owner_exists(self, dependent, ref):
        owner_type = self.registry.by_kind(ref.get("apiVersion"), ref.get("kind"))
        if owner_type is None:
            return False
        owner = self.store.get(owner_type, dependent["metadata"].get("namespace"), ref.get("name"))
        return owner is not None and owner["metadata"].get("uid") == ref.get("uid")

    def _orphan_dependents(self, obj):
        uid = obj["metadata"].get("uid")
        for rtype, dependent in list(self._dependents(uid)):
            self._drop_owner_reference(rtype, dependent, uid)

    def _drop_owner_reference(self, rtype, dependent, uid):
        updated = clone(dependent)
        refs = [r for r in updated["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
        if refs:
            updated["metadata"]["ownerReferences"] = refs
        else:
            updated["metadata"].pop("ownerReferences", None)
        self._update(rtype, dependent, updated, controller_write("k3s"))

    # --- namespaces
    def _empty_namespace(self, namespace_obj):
        """The namespace controller: delete everything in a terminating namespace, then the namespace."""
        name = namespace_obj["metadata"]["name"]
        for group, plural, obj_name in self.store.namespaced_keys(name):
            obj = self.store.get_by_key(group, plural, name, obj_name)
            if obj is None:
                continue
            rtype = self._type_of(obj)
            if obj["metadata"].get("finalizers"):
                self._mark_terminating(rtype, obj)
            else:
                self._remove(rtype, obj)
        self._finish_namespace_if_empty(name)

    def _finish_namespace_if_empty(self, name):
        namespaces = self.registry.find("", "v1", "namespaces")
        namespace_obj = self.store.get(namespaces, None, name)
        if namespace_obj is None or not namespace_obj["metadata"].get("deletionTimestamp"):
            return
        if self.store.namespaced_keys(name):
            return
        if namespace_obj["metadata"].get("finalizers"):
            return  # metadata finalizers belong to someone else; only spec.finalizers are the controller's
        self._remove(namespaces, namespace_obj)

    # --- eviction
    def evict(self, namespace, name, eviction, options):
        """Evict a Pod unless a PodDisruptionBudget forbids it (HTTP 429, as the eviction API answers)."""
        pods = self.registry.find("", "v1", "pods")
        with self.operation():
            pod = self.get(pods, namespace, name)
            delete_options = (eviction or {}).get("deleteOptions") or {}
            if "All" in (delete_options.get("dryRun") or []):
                options.dry_run = True
            if pod_is_ready(pod):
                self._check_disruption_budgets(pod)
            self.delete(pods, namespace, name, options, delete_options)
            return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _check_disruption_budgets(self, pod):
        budgets_type = self.registry.find("policy", "v1", "poddisruptionbudgets")
        pods = self.registry.find("", "v1", "pods")
        namespace = pod["metadata"]["namespace"]
        for budget in self.store.items(budgets_type, namespace):
            selector = (budget.get("spec") or {}).get("selector")
            if not selector_matches(selector, pod["metadata"].get("labels")):
                continue
            covered = [
                p
                for p in self.store.items(pods, namespace)
                if selector_matches(selector, p["metadata"].get("labels"))
                and not p["metadata"].get("deletionTimestamp")
            ]
            healthy = sum(1 for p in covered if pod_is_ready(p))
            needed = _needed_healthy(budget.get("spec") or {}, len(covered))
            if healthy - 1 < needed:
                raise too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                    [
                        {
                            "reason": "DisruptionBudget",
                            "message": "The disruption budget %s needs %d healthy pods and has %d currently"
                            % (budget["metadata"]["name"], needed, healthy),
                        }
                    ],
                )


def _needed_healthy(spec, expected):
    def resolve(value, round_up):
        if isinstance(value, str) and value.endswith("%"):
            exact = int(value[:-1]) * expected / 100.0
            whole = int(exact)
            return whole + 1 if round_up and whole < exact else whole
        return int(value)

    if "minAvailable" in spec:
        return resolve(spec["minAvailable"], round_up=True)
    if "maxUnavailable" in spec:
        return expected - resolve(spec["maxUnavailable"], round_up=True)
    return 0


def pod_is_ready(pod):
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
