#!/usr/bin/env bash
# The project's test command: set the machine up (scripts/setup.sh), then run every test stage
# (scripts/run_tests.py) and print a pytest-style summary. Arguments select stages; see --help.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$REPO/scripts/setup.sh"
# shellcheck source=scripts/env.sh
. "$REPO/scripts/env.sh"
export NO_COLOR=1 PY_COLORS=0 ANSIBLE_FORCE_COLOR=0 ANSIBLE_NOCOLOR=1
cd "$REPO"
exec "$VENV/bin/python" "$REPO/scripts/run_tests.py" "$@"
