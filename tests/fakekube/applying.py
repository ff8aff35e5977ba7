"""Server-side apply: merge an applied configuration into the live object, honouring field ownership."""

from .errors import ApiError
from .fieldpaths import delete_at, leaf_paths, overlaps, owned_view, render
from .store import clone
from .strategic import strategic_merge


def merge_applied(rtype, live, config, managers, options, subresource=""):
    """Return (new object, applied paths), or raise a 409 listing the fields other managers own."""
    keyed = not rtype.custom
    manager = options.field_manager
    config_view = owned_view(config, subresource)
    paths = leaf_paths(config_view, keyed)
    conflicts = managers.conflicts(manager, subresource, paths, owned_view(live, subresource), config_view)
    if conflicts and not options.force:
        raise _conflict_error(conflicts, live.get("apiVersion"))
    new = clone(live)
    others = managers.owned_by_others(manager, subresource)
    released = managers.applied_paths(manager, subresource) - paths
    # fields this manager applied before and now leaves out are removed, unless someone else owns them too
    for path in sorted(released, key=len, reverse=True):
        if not any(overlaps(path, other) for other in others):
            delete_at(new, path)
    return strategic_merge(new, config_view, keyed=keyed), paths


def _conflict_error(conflicts, api_version):
    def who(manager, operation):
        return '"%s" using %s' % (manager, api_version) if operation == "Update" else '"%s"' % manager

    lines = ["conflict with %s: %s" % (who(m, op), render(path)) for m, op, path in conflicts]
    count = len(conflicts)
    message = "Apply failed with %d conflict%s: %s" % (count, "" if count == 1 else "s", "; ".join(lines))
    causes = [
        {"reason": "FieldManagerConflict", "message": "conflict with %s" % who(m, op), "field": render(path)}
        for m, op, path in conflicts
    ]
    return ApiError(409, "Conflict", message, {"causes": causes})
