"""Small helpers that several test folders share (integration conftests, the molecule scenarios' tests).

Import with tests/ on sys.path, as the tests already do for tests/kubeapi.
"""

import importlib.util
import time
from pathlib import Path

INTEGRATION = Path(__file__).resolve().parent / "integration"


def wait_for(predicate, timeout=60.0, interval=0.5, what="condition"):
    """Call PREDICATE until it returns something true (returned), or fail after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def conftest_of(folder, module_name):
    """Another integration folder's conftest, loaded by path (two conftest modules cannot both be `conftest`)."""
    spec = importlib.util.spec_from_file_location(module_name, INTEGRATION / folder / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
