"""API errors, rendered as the ``Status`` objects kube-apiserver returns."""


class ApiError(Exception):
    """An error answered to the client as a ``Status`` with an HTTP code and a machine-readable reason."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details or {}

    def status(self):
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def _details(rtype, name):
    details = {"kind": rtype.plural}
    if name:
        details["name"] = name
    if rtype.group:
        details["group"] = rtype.group
    return details


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def not_found(rtype, name):
    return ApiError(404, "NotFound", '%s "%s" not found' % (rtype.group_resource, name), _details(rtype, name))


def no_such_path():
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def method_not_allowed(message="the server does not allow this method on the requested resource"):
    return ApiError(405, "MethodNotAllowed", message)


def already_exists(rtype, name):
    return ApiError(
        409, "AlreadyExists", '%s "%s" already exists' % (rtype.group_resource, name), _details(rtype, name)
    )


def conflict(rtype, name, message):
    return ApiError(
        409,
        "Conflict",
        'Operation cannot be fulfilled on %s "%s": %s' % (rtype.group_resource, name, message),
        _details(rtype, name),
    )


def stale_resource_version(rtype, name):
    return conflict(
        rtype, name, "the object has been modified; please apply your changes to the latest version and try again"
    )


def forbidden(rtype, name, message):
    return ApiError(
        403, "Forbidden", '%s "%s" is forbidden: %s' % (rtype.group_resource, name, message), _details(rtype, name)
    )


def unsupported_media_type(message):
    return ApiError(415, "UnsupportedMediaType", message)


def too_many_requests(message, causes=None):
    details = {"causes": causes} if causes else None
    return ApiError(429, "TooManyRequests", message, details)


class Invalid(ApiError):
    """422 Invalid, carrying one cause per bad field like kube-apiserver's field.ErrorList."""

    def __init__(self, kind, name, causes, group=""):
        text = "; ".join("%s: %s" % (c["field"], c["message"]) if c.get("field") else c["message"] for c in causes)
        if len(causes) > 1:
            text = "[%s]" % ", ".join(
                "%s: %s" % (c["field"], c["message"]) if c.get("field") else c["message"] for c in causes
            )
        details = {"name": name, "kind": kind, "causes": causes}
        if group:
            details["group"] = group
        super().__init__(422, "Invalid", '%s "%s" is invalid: %s' % (kind, name, text), details)


def field_error(reason, field, message):
    """One ``StatusCause``; ``reason`` is e.g. FieldValueInvalid, FieldValueRequired, FieldValueForbidden."""
    return {"reason": reason, "field": field, "message": message}


def invalid_value(field, value, detail):
    return field_error("FieldValueInvalid", field, "Invalid value: %s: %s" % (_go_repr(value), detail))


def required(field, detail="Required value"):
    return field_error(
        "FieldValueRequired", field, detail if detail.startswith("Required") else "Required value: " + detail
    )


def forbidden_field(field, detail):
    return field_error("FieldValueForbidden", field, "Forbidden: " + detail)


def unsupported_value(field, value, supported):
    return field_error(
        "FieldValueNotSupported",
        field,
        "Unsupported value: %s: supported values: %s" % (_go_repr(value), ", ".join('"%s"' % s for s in supported)),
    )


def _go_repr(value):
    """Quote values the way apimachinery prints them in field errors."""
    if isinstance(value, str):
        return '"%s"' % value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)
