# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Running a helper command on the robot with exactly the given argv and environment.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

Not AnsibleModule.run_command: that expands `$NAME` and `~` in every argument from the module's own
environment, which holds whatever a play, block or task put into `environment:`. Here nothing is
expanded, nothing is inherited and no shell is involved: an argument arrives byte for byte, and
environment values travel in the process environment, never on a command line that `ps` shows.
"""

import subprocess


def run(argv, env, timeout=None):
    """(rc, stdout, stderr) of ARGV with exactly ENV (a dict), stdin on /dev/null.

    Output is decoded with surrogateescape, so that bytes that are not UTF-8 survive a round trip into
    another process's environment. rc is 127 when ARGV[0] cannot be run and 124 after TIMEOUT seconds.
    """
    try:
        completed = subprocess.run(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            close_fds=True,
            timeout=timeout,
            check=False,
        )
    except OSError as exc:
        return 127, "", "cannot run %s: %s" % (argv[0], exc)
    except subprocess.TimeoutExpired as exc:
        return 124, _text(exc.stdout), "%s did not finish within %ss" % (argv[0], timeout)
    return completed.returncode, _text(completed.stdout), _text(completed.stderr)


def _text(data):
    return (data or b"").decode("utf-8", "surrogateescape")
