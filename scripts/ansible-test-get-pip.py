"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test builds a virtualenv per sanity test and bootstraps pip in it with a script it downloads
from ci-files.testing.ansible.com, which this lab's build machines cannot reach. scripts/run_tests.py
copies this file to ~/.ansible/test/cache/get_pip_<version>.py, where ansible-test looks first.
It installs pip with the standard library's ensurepip, then installs the requested packages (the pinned
pip itself) from the configured package index.
"""

import ensurepip
import os
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
# ensurepip points pip at /dev/null for its own run; the install below must see the real pip config
os.environ.pop("PIP_CONFIG_FILE", None)
os.environ.pop("ENSUREPIP_OPTIONS", None)
# get-pip.py accepts these two flags; plain pip does not
requested = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", *requested])
