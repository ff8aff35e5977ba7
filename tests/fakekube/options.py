"""What a write request asks for besides its body: dry run, field manager, field validation, force."""

from .errors import bad_request

FIELD_VALIDATION = ("Ignore", "Warn", "Strict")


class WriteOptions:
    __slots__ = ("dry_run", "field_manager", "field_validation", "force", "internal")

    def __init__(self, dry_run=False, field_manager="", field_validation="Warn", force=False, internal=False):
        self.dry_run = dry_run
        self.field_manager = field_manager
        self.field_validation = field_validation
        self.force = force
        self.internal = internal  # a write by the fake's own controllers: no schema checks

    @classmethod
    def from_query(cls, query, user_agent):
        dry_run = query.get("dryRun", "")
        if dry_run not in ("", "All"):
            raise bad_request('Invalid dry run value: "%s"' % dry_run)
        validation = query.get("fieldValidation") or "Warn"
        if validation not in FIELD_VALIDATION:
            raise bad_request(
                'fieldValidation parameter unsupported: "%s": valid values are: Ignore, Warn, Strict' % validation
            )
        manager = query.get("fieldManager") or ""
        if len(manager) > 128:
            raise bad_request("fieldManager: Too long: may not be longer than 128")
        return cls(
            dry_run=dry_run == "All",
            field_manager=manager or default_manager(user_agent),
            field_validation=validation,
            # kube-apiserver parses booleans like Go's strconv.ParseBool; the Python client sends "True"
            force=query.get("force", "").lower() in ("1", "t", "true"),
        )


def default_manager(user_agent):
    """kube-apiserver names an unnamed manager after the client's user agent up to the first slash."""
    return (user_agent or "unknown").split("/", 1)[0] or "unknown"


def controller_write(manager="k3s"):
    return WriteOptions(field_manager=manager, internal=True)
