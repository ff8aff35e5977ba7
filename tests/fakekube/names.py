"""Name rules: which DNS/path format kube-apiserver requires of ``metadata.name`` for each kind."""

import re

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")

_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
    "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic "
    "character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for "
    "validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)

# kube-apiserver validates most names as DNS-1123 subdomains; these kinds are stricter or looser.
DNS1123_LABEL_KINDS = frozenset({"Namespace"})
DNS1035_LABEL_KINDS = frozenset({"Service"})
PATH_SEGMENT_KINDS = frozenset({"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"})
MAX_NAME_LENGTH = {"CronJob": 52}


def name_problems(kind, name):
    """The reasons ``name`` is not a valid name for ``kind`` (empty when it is valid)."""
    if kind in PATH_SEGMENT_KINDS:
        if name in (".", ".."):
            return ["may not be '%s'" % name]
        return ["may not contain '%s'" % c for c in ("/", "%") if c in name]
    if kind in DNS1035_LABEL_KINDS:
        return _check(name, DNS1035_LABEL, 63, _DNS1035_MESSAGE)
    if kind in DNS1123_LABEL_KINDS:
        return _check(name, DNS1123_LABEL, 63, _LABEL_MESSAGE)
    problems = _check(name, DNS1123_SUBDOMAIN, 253, _SUBDOMAIN_MESSAGE)
    limit = MAX_NAME_LENGTH.get(kind)
    if limit and len(name) > limit:
        problems.append("must be no more than %d characters" % limit)
    return problems


def _check(name, pattern, limit, message):
    problems = []
    if len(name) > limit:
        problems.append("must be no more than %d characters" % limit)
    if not pattern.match(name):
        problems.append(message)
    return problems


def is_dns1123_label(value):
    return len(value) <= 63 and bool(DNS1123_LABEL.match(value))


def is_dns1123_subdomain(value):
    return len(value) <= 253 and bool(DNS1123_SUBDOMAIN.match(value))


def qualified_name_problems(key):
    """Problems of a label or annotation key (``[prefix/]name``)."""
    prefix, slash, name = key.rpartition("/")
    problems = []
    if slash and not is_dns1123_subdomain(prefix):
        problems.append("prefix part " + _SUBDOMAIN_MESSAGE)
    if not name or len(name) > 63:
        problems.append("name part must be no more than 63 characters" if name else "name part must be non-empty")
    elif not QUALIFIED_NAME.match(name):
        problems.append(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
            "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
            "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        )
    return problems


def label_value_problems(value):
    if not isinstance(value, str):
        return ["must be a string"]
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not LABEL_VALUE.match(value):
        problems.append(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
            "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
            "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
        )
    return problems
