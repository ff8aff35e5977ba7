"""Timestamps in the form Kubernetes uses (RFC 3339, UTC, whole seconds)."""

import datetime


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
