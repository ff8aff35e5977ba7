"""The API server's behaviour, independent of HTTP: reads, creates, updates, patches and their checks.

Every write goes through the same pipeline as in kube-apiserver: defaulting, admission, validation (semantic,
immutability, optional schema), metadata (uid, resourceVersion, generation, managedFields), storage, then the
fake controllers. A write that changes nothing is not stored and keeps its resourceVersion.
"""

import contextlib
import random
import threading
import uuid

from . import schema
from .admission import Admission, label_job_pods
from .applying import merge_applied
from .bootstrap import bootstrap
from .clock import now
from .crdschema import apply_schema, version_schema
from .defaults import apply_defaults
from .deletion import DeletionMixin
from .errors import (
    ApiError,
    Invalid,
    already_exists,
    bad_request,
    forbidden,
    not_found,
    required,
    stale_resource_version,
)
from .fieldpaths import MISSING, leaf_paths, owned_view, value_at
from .immutability import update_problems
from .managedfields import FieldManagers
from .options import controller_write
from .patches import json_patch, merge_patch
from .resources import Registry, types_from_crd
from .selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from .store import Store, clone
from .strategic import strategic_merge
from .validation import problems
from .watch import WatchHub

# kinds whose metadata.generation tracks spec changes (custom resources always do)
GENERATION_KINDS = frozenset(
    {
        "Deployment",
        "ReplicaSet",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "CustomResourceDefinition",
        "PriorityClass",
    }
)
# kinds that keep the status a client sends on create (their status is not the server's)
STATUS_ON_CREATE_KINDS = frozenset({"Node", "PersistentVolume"})
# the alphabet of generated name suffixes (apimachinery avoids vowels and look-alike characters)
_NAME_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"
PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/json-patch+json": "json",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


class ApiServer(DeletionMixin):
    def __init__(self, kube_version, controllers=True, schema_validation=True, k3s=True):
        self.kube_version = kube_version
        self.schema_validation = schema_validation and schema.available()
        self.registry = Registry()
        self.lock = threading.RLock()
        self.watches = WatchHub(self.lock)
        self.store = Store(on_change=self.watches.record)
        self.admission = Admission(self.store, self.registry)
        self._depth = 0
        self._random = random.Random()
        self.controllers = None
        if controllers:
            from .controllers import ControllerManager

            self.controllers = ControllerManager(self)
        bootstrap(self, k3s)

    # --- plumbing
    @contextlib.contextmanager
    def operation(self):
        """Serialise requests; when the outermost one ends, let the controllers catch up."""
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            if self._depth == 0 and self.controllers is not None:
                self._depth += 1
                try:
                    self.controllers.settle()
                finally:
                    self._depth -= 1

    def _notify(self, rtype, old, new):
        if self.controllers is not None:
            self.controllers.observe(rtype, old, new)

    def random_suffix(self):
        return "".join(self._random.choice(_NAME_SUFFIX) for _position in range(5))

    # --- reads
    def get(self, rtype, namespace, name):
        obj = self.store.get(rtype, namespace, name)
        if obj is None:
            raise not_found(rtype, name)
        return obj

    def list(self, rtype, namespace=None, label_selector="", field_selector=""):
        requirements = parse_label_selector(label_selector)
        checks = parse_field_selector(field_selector, rtype.kind, rtype.custom)
        items = [
            obj
            for obj in self.store.items(rtype, namespace if rtype.namespaced else None)
            if labels_match(obj["metadata"].get("labels"), requirements) and fields_match(obj, checks)
        ]
        return {
            "kind": rtype.kind + "List",
            "apiVersion": rtype.api_version,
            "metadata": {"resourceVersion": str(self.store.revision)},
            "items": items,
        }

    # --- create
    def create(self, rtype, namespace, body, options):
        """Create ``body``; returns (stored object, warnings)."""
        with self.operation():
            return self._create(rtype, namespace, clone(body), options, "Update")

    def _create(self, rtype, namespace, obj, options, operation):
        self._check_type(rtype, obj)
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            meta = obj["metadata"] = {}
        namespace = self._check_namespace(rtype, namespace, meta)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + self.random_suffix()
        name = meta.get("name")
        if not name:
            raise Invalid(
                rtype.kind, "", [required("metadata.name", "Required value: name or generateName is required")]
            )
        if self.store.get(rtype, namespace, name) is not None:
            raise already_exists(rtype, name)
        obj["apiVersion"], obj["kind"] = rtype.api_version, rtype.kind
        if rtype.has_status and rtype.kind not in STATUS_ON_CREATE_KINDS:
            obj.pop("status", None)
        applied_paths = leaf_paths(owned_view(obj), keyed=not rtype.custom)
        warnings = self._admit_and_validate(rtype, obj, None, options)
        # an Update owns what it stored, defaults included; an Apply owns only what it sent
        user_paths = applied_paths if operation == "Apply" else leaf_paths(owned_view(obj), keyed=not rtype.custom)
        for field in ("uid", "resourceVersion", "creationTimestamp", "deletionTimestamp", "generation"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if rtype.kind in GENERATION_KINDS or rtype.custom:
            meta["generation"] = 1
        if rtype.kind == "Job":
            label_job_pods(obj)
        self._initial_status(rtype, obj)
        managers = FieldManagers()
        if operation == "Apply":
            managers.record_apply(options.field_manager, "", rtype.api_version, user_paths, True, now())
        else:
            managers.record_update(options.field_manager, "", rtype.api_version, user_paths, set(), now())
        meta["managedFields"] = managers.render()
        if options.dry_run:
            return obj, warnings
        meta["resourceVersion"] = self.store.next_revision()
        self.store.managers[meta["uid"]] = managers
        self.store.put(rtype, obj)
        if rtype.kind == "CustomResourceDefinition":
            self._serve_crd(obj)
        self._notify(rtype, None, obj)
        return obj, warnings

    def _check_type(self, rtype, obj):
        if not isinstance(obj, dict):
            raise bad_request("the body of the request must be a JSON object")
        kind, api_version = obj.get("kind"), obj.get("apiVersion")
        if kind and kind != rtype.kind:
            raise bad_request("the object provided is unrecognized (must be of type %s): %s" % (rtype.kind, kind))
        if api_version and api_version != rtype.api_version:
            raise bad_request(
                "the API version in the data (%s) does not match the expected API version (%s)"
                % (api_version, rtype.api_version)
            )

    def _check_namespace(self, rtype, namespace, meta):
        if not rtype.namespaced:
            meta.pop("namespace", None)
            return None
        if meta.get("namespace") and meta["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        namespaces = self.registry.find("", "v1", "namespaces")
        owner = self.store.get(namespaces, None, namespace)
        if owner is None:
            raise not_found(namespaces, namespace)
        if owner["metadata"].get("deletionTimestamp"):
            raise forbidden(
                rtype,
                meta.get("name") or "",
                "unable to create new content in namespace %s because it is being terminated" % namespace,
            )
        meta["namespace"] = namespace
        return namespace

    def _initial_status(self, rtype, obj):
        if rtype.kind == "Namespace":
            obj["status"] = {"phase": "Active"}
        elif rtype.kind == "Pod":
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj.get("spec") or {})}
        elif rtype.kind == "PersistentVolumeClaim":
            obj["status"] = {"phase": "Pending"}
        elif rtype.kind == "CustomResourceDefinition":
            names = (obj.get("spec") or {}).get("names") or {}
            obj["status"] = {
                "acceptedNames": {"plural": names.get("plural"), "kind": names.get("kind")},
                "conditions": [
                    _condition("NamesAccepted", "True", "NoConflicts", "no conflicts found"),
                    _condition("Established", "True", "InitialNamesAccepted", "the initial names have been accepted"),
                ],
                "storedVersions": [v["name"] for v in obj["spec"]["versions"] if v.get("storage")],
            }

    def _serve_crd(self, crd):
        for rtype in types_from_crd(crd):
            if self.registry.find(rtype.group, rtype.version, rtype.plural) is None:
                self.registry.add(rtype)

    def _admit_and_validate(self, rtype, obj, old, options):
        """Defaulting, admission and validation; returns the warnings to send back."""
        apply_defaults(rtype.kind, obj)
        self.admission.admit(rtype.kind, obj, old)
        causes = problems(rtype, obj)
        if old is not None:
            causes.extend(update_problems(rtype.kind, obj, old))
        warnings = []
        if rtype.custom:
            warnings = self._check_custom_schema(rtype, obj, options, causes)
        elif self.schema_validation and not options.internal and _decoded_differs(obj, old):
            warnings = self._check_schema(rtype, obj, options)
        if causes:
            kind = "%s.%s" % (rtype.kind, rtype.group) if rtype.custom else rtype.kind
            raise Invalid(kind, obj["metadata"].get("name", ""), causes, rtype.group)
        return warnings

    def _check_schema(self, rtype, obj, options):
        """Refuse wrongly typed values; drop unknown fields (refuse them with Strict), as decoding does."""
        type_errors, unknown = schema.check(self.kube_version, {k: v for k, v in obj.items() if k != "status"})
        for path, message in type_errors:
            raise bad_request(
                '%s in version "%s" cannot be handled as a %s: %s: %s'
                % (rtype.kind, rtype.version, rtype.kind, path or "<root>", message)
            )
        messages = ['unknown field "%s"' % schema.dotted(parts) for parts in unknown]
        if messages and options.field_validation == "Strict":
            raise bad_request("strict decoding error: " + ", ".join(messages))
        for parts in unknown:
            _drop(obj, parts)
        return messages if options.field_validation == "Warn" else []

    def _check_custom_schema(self, rtype, obj, options, causes):
        """Default, prune and validate a custom resource with its CRD's schema (causes are appended)."""
        crds = self.registry.find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        crd = self.store.get(crds, None, "%s.%s" % (rtype.plural, rtype.group))
        crd_schema = version_schema(crd, rtype.version) if crd is not None else None
        if not crd_schema:
            return []
        schema_causes, pruned = apply_schema(obj, crd_schema)
        causes.extend(schema_causes)
        messages = sorted('unknown field "%s"' % schema.dotted(parts) for parts in pruned)
        if messages and options.field_validation == "Strict" and not options.internal:
            raise bad_request("strict decoding error: " + ", ".join(messages))
        return messages if options.field_validation == "Warn" and not options.internal else []

    # --- update (PUT and every patch end here)
    def replace(self, rtype, namespace, name, body, options, subresource=""):
        with self.operation():
            old = self.get(rtype, namespace, name)
            body = clone(body)
            self._check_type(rtype, body)
            meta = body.get("metadata") or {}
            if meta.get("name", name) != name:
                raise bad_request("the name of the object does not match the name on the URL")
            if not meta.get("resourceVersion") and rtype.custom:
                # custom resources refuse unconditional updates; built-in kinds allow them
                raise Invalid(
                    rtype.kind,
                    name,
                    [required("metadata.resourceVersion", "Invalid value: 0x0: must be specified for an update")],
                    rtype.group,
                )
            return self._update(rtype, old, body, options, subresource)

    def patch(self, rtype, namespace, name, content_type, body, options, subresource=""):
        patch_type = PATCH_TYPES.get(content_type)
        if patch_type is None:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(PATCH_TYPES),
            )
        if patch_type == "strategic" and rtype.custom:
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
            )
        with self.operation():
            if patch_type == "apply":
                return self._apply(rtype, namespace, name, body, options, subresource)
            old = self.get(rtype, namespace, name)
            if patch_type == "json":
                new = json_patch(old, body)
            elif not isinstance(body, dict):
                raise bad_request("the body of a %s patch must be a JSON object" % patch_type)
            elif patch_type == "merge":
                new = merge_patch(old, body)
            else:
                new = strategic_merge(old, body)
            new = clone(new)
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            self._check_type(rtype, new)
            # a patch is unconditional unless it carries a resourceVersion itself
            sent_version = ((body.get("metadata") or {}) if isinstance(body, dict) else {}).get("resourceVersion")
            new.setdefault("metadata", {})
            if sent_version:
                new["metadata"]["resourceVersion"] = sent_version
            else:
                new["metadata"].pop("resourceVersion", None)
            if new["metadata"].get("name", old["metadata"]["name"]) != old["metadata"]["name"]:
                raise bad_request("the name of the object does not match the name on the URL")
            return self._update(rtype, old, new, options, subresource)

    def _update(self, rtype, old, new, options, subresource="", applied=None):
        """Store ``new`` in place of ``old``; ``applied`` = (paths, force) for a server-side apply."""
        name = old["metadata"]["name"]
        meta = new.get("metadata")
        if not isinstance(meta, dict):
            meta = new["metadata"] = {}
        sent_version = meta.get("resourceVersion")
        if sent_version and sent_version != old["metadata"]["resourceVersion"]:
            raise stale_resource_version(rtype, name)
        new["apiVersion"], new["kind"] = rtype.api_version, rtype.kind
        if subresource == "status":
            new = dict(clone(old), status=new.get("status"))
            if new["status"] is None:
                del new["status"]
            meta = new["metadata"]
        elif rtype.has_status:
            if "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)
        for field in (
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "namespace",
            "name",
        ):
            if field in old["metadata"]:
                meta[field] = old["metadata"][field]
            else:
                meta.pop(field, None)
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        warnings = []
        if subresource != "status":
            warnings = self._admit_and_validate(rtype, new, old, options)
        if subresource != "status" and "generation" in meta and _spec_of(new) != _spec_of(old):
            meta["generation"] = old["metadata"]["generation"] + 1
        managers = self.store.managers.get(old["metadata"]["uid"], FieldManagers()).copy()
        keyed = not rtype.custom
        if applied is not None:
            paths, force = applied
            managers.record_apply(options.field_manager, subresource, rtype.api_version, paths, force, now())
        old_view, new_view = owned_view(old, subresource), owned_view(new, subresource)
        old_paths, new_paths = leaf_paths(old_view, keyed), leaf_paths(new_view, keyed)
        removed = {p for p in old_paths if value_at(new_view, p) is MISSING}
        if applied is None:
            changed = {p for p in new_paths if value_at(old_view, p) != value_at(new_view, p)}
            managers.record_update(options.field_manager, subresource, rtype.api_version, changed, removed, now())
        else:
            managers.forget(removed)
        meta["managedFields"] = managers.render()
        if new == old:
            return old, warnings  # nothing changed: nothing is written, resourceVersion stays
        if options.dry_run:
            return new, warnings
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not _namespace_finalizers(new):
            self._remove(rtype, old)
            return new, warnings
        meta["resourceVersion"] = self.store.next_revision()
        self.store.managers[meta["uid"]] = managers
        self.store.put(rtype, new)
        if rtype.kind == "CustomResourceDefinition":
            self._serve_crd(new)
        self._notify(rtype, old, new)
        return new, warnings

    def _apply(self, rtype, namespace, name, config, options, subresource):
        if not options.field_manager or options.field_manager == "unknown":
            raise bad_request("PATCH requests with apply content type must have a fieldManager")
        if not isinstance(config, dict):
            raise bad_request("the body of an apply patch must be an object")
        config = clone(config)
        self._check_type(rtype, config)
        meta = config.get("metadata") or {}
        if meta.get("name", name) != name:
            raise bad_request("the name of the object does not match the name on the URL")
        old = self.store.get(rtype, namespace, name)
        if old is None:
            if subresource:
                raise not_found(rtype, name)
            config.setdefault("metadata", {})["name"] = name
            return self._create(rtype, namespace, config, options, "Apply")
        managers = self.store.managers.get(old["metadata"]["uid"], FieldManagers())
        new, paths = merge_applied(rtype, old, config, managers, options, subresource)
        return self._update(rtype, old, new, options, subresource, applied=(paths, options.force))

    # --- helpers for the controllers
    def write_status(self, rtype, obj, status, manager="k3s"):
        """Set ``status`` on ``obj`` as a controller would (through the status subresource)."""
        if obj.get("status") == status:
            return obj
        body = dict(obj, status=status)
        options = controller_write(manager)
        if rtype.has_status:
            return self._update(rtype, obj, clone(body), options, "status")[0]
        return self._update(rtype, obj, clone(body), options)[0]


def _decoded_differs(obj, old):
    """Whether ``obj`` needs decoding checks: new, or different from the stored (already checked) ``old``."""
    if old is None or _spec_of(obj) != _spec_of(old):
        return True
    volatile = ("managedFields", "resourceVersion")
    return {k: v for k, v in obj["metadata"].items() if k not in volatile} != {
        k: v for k, v in old["metadata"].items() if k not in volatile
    }


def _drop(obj, parts):
    node = obj
    for part in parts[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def _spec_of(obj):
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _namespace_finalizers(obj):
    return obj.get("kind") == "Namespace" and (obj.get("spec") or {}).get("finalizers")


def _condition(kind, status, reason, message):
    return {"type": kind, "status": status, "reason": reason, "message": message, "lastTransitionTime": now()}


def qos_class(pod_spec):
    """Guaranteed, Burstable or BestEffort, from the containers' requests and limits."""
    containers = pod_spec.get("containers") or []
    requests = [(c.get("resources") or {}).get("requests") or {} for c in containers]
    limits = [(c.get("resources") or {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu")
        and lim.get("memory")
        and req.get("cpu", lim["cpu"]) == lim["cpu"]
        and req.get("memory", lim["memory"]) == lim["memory"]
        for req, lim in zip(requests, limits)
    )
    return "Guaranteed" if guaranteed else "Burstable"
