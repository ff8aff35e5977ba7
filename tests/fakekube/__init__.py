"""fakekube: an in-memory stand-in for kube-apiserver, used by the collection's tests.

It is NOT Kubernetes: it models the parts of kube-apiserver (and a few controllers) that the
collection's roles and kubernetes.core rely on, closely enough to catch malformed, non-idempotent
or invalid requests. docs/fake-kube.md lists what it models and what it does not.

Run it with ``python3 -m fakekube --port 0 --kubeconfig PATH`` (``tests/`` on ``PYTHONPATH``), or
from pytest with :class:`fakekube.testing.FakeKube`.
"""

DEFAULT_KUBE_VERSION = "1.31.0"
