"""Shared pytest setup for unit tests.

Collection code is imported as ``ansible_collections.roverlab.clouddesktop...``, which resolves through the
checkout's ``collections/`` link to the repository root. Module tests use ``run_module`` to call a module's
``main()`` the way AnsiballZ would, and get its JSON result back.
"""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "collections"))

from ansible.module_utils import basic  # noqa: E402  (after the path setup above)
from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402


class ModuleExit(Exception):
    """Raised instead of sys.exit() when a module calls exit_json or fail_json."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise ModuleExit(kwargs)


def _fail_json(self, msg, **kwargs):
    kwargs["failed"] = True
    kwargs["msg"] = msg
    raise ModuleExit(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """Run ``main`` of a module with ``args`` (dict) and return its result dict.

    Pass ``_ansible_check_mode=True`` or ``_ansible_diff=True`` inside ``args`` for check/diff mode.
    """

    def runner(main, args):
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
        # ansible-core >= 2.19 refuses module args without a serialization profile
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
        monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)
        with pytest.raises(ModuleExit) as caught:
            main()
        return caught.value.result

    return runner
