# Copyright (c) 2026, Rover Lab infrastructure team
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Where a launch keeps its state on the robot: JSON files, a lock, its output log.

PRIVATE to the roverlab.clouddesktop collection: not a public API, it may change without notice.

One directory (``state_dir``, mode 0700) per launch account, and in it one directory per launch NAME,
``launches/NAME/``, so that no launch's file can be another launch's (names may contain dots: with files named
``NAME.<suffix>``, launch ``a``'s ``a.run.json`` was launch ``a.run``'s record):

- ``launch.json``  what was launched and how to find it (written by the module, under the lock)
- ``run.json``     what the supervisor saw: current launch PID, restarts, exit codes (written by the supervisor)
- ``last.json``    both of the above from the previous run, kept after a stop or a stale-state clean-up
- ``lock``         serialises module calls for NAME (flock)
- ``output.log``   stdout and stderr of the launch (``output.log.1`` is the previous run's)
- ``ros_log/``     ROS_LOG_DIR of the launch (roslaunch and per-node logs)

Each JSON file has a single writer and is replaced atomically, so readers never see half a file. Records and
the lock are mode 0600, directories 0700.

Earlier versions kept ``NAME.json``, ``NAME.run.json``, ... directly in ``state_dir`` (the legacy layout). A
launch recorded that way is found (legacy_request) so that it can be stopped and its files removed; nothing
else is done with it.
"""

import binascii
import contextlib
import errno
import fcntl
import json
import os
import re
import stat
import time

STATE_VERSION = 2
# launches/NAME/ holds each launch's files
LAUNCHES_DIR = "launches"
# a whole-string pattern: used with fullmatch (a `$` would also match before a trailing newline)
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
# colour and terminal-title sequences roslaunch writes even when its output is a file
ANSI_SEQUENCE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
TAIL_BYTES = 256 * 1024


class StateError(Exception):
    pass


def read_json(path):
    """The object in PATH, None when the file does not exist. A damaged file raises StateError."""
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateError("cannot read %s: %s" % (path, exc)) from exc


def write_json(path, data):
    def dump(handle):
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write("\n")

    replace_file(path, dump)


def write_text(path, text):
    replace_file(path, lambda handle: handle.write(text))


def replace_file(path, write):
    """Replace PATH atomically with what WRITE(handle) writes: readers see the old or the new file, never a part,
    and a failed write (a full disk) leaves no temporary file behind."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # left by a process of the same PID that died halfway (another boot)
        # 0600 whatever the umask: records name processes to signal, and logs configurations point at files
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            write(handle)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StateError("cannot write %s: %s" % (path, exc)) from exc


def tail_lines(path, count):
    """The last COUNT lines of PATH without terminal escape sequences ([] when it does not exist)."""
    if count <= 0:
        return []
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - TAIL_BYTES))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [ANSI_SEQUENCE.sub("", line) for line in text.splitlines()[-count:]]


class StateStore:
    """The files of launch NAME in STATE_DIR."""

    def __init__(self, state_dir, name):
        if not NAME_PATTERN.fullmatch(name):
            raise StateError(
                "launch name %r: use 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit" % name
            )
        self.dir = state_dir
        self.name = name
        self.launch_dir = os.path.join(state_dir, LAUNCHES_DIR, name)
        self.request_file = os.path.join(self.launch_dir, "launch.json")
        self.run_file = os.path.join(self.launch_dir, "run.json")
        self.last_file = os.path.join(self.launch_dir, "last.json")
        self.lock_file = os.path.join(self.launch_dir, "lock")
        self.log_file = os.path.join(self.launch_dir, "output.log")
        self.previous_log_file = self.log_file + ".1"
        self.ros_log_dir = os.path.join(self.launch_dir, "ros_log")

    # --- directory -----------------------------------------------------------------------------
    def ensure_dir(self):
        """Create the state directory and the launch's directory (0700), or check that the existing ones are this
        account's own."""
        for directory in (self.dir, os.path.dirname(self.launch_dir), self.launch_dir):
            try:
                os.mkdir(directory, 0o700)
            except FileNotFoundError:
                os.makedirs(directory, mode=0o700)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise StateError("cannot create state directory %s: %s" % (directory, exc)) from exc
            if directory == self.dir:
                self._check_dir()
            else:
                self._check_own_dir(directory)

    def _check_own_dir(self, directory):
        """A directory inside the state directory: ours, a real directory (not a symbolic link)."""
        info = os.lstat(directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            raise StateError("%s must be a directory of the launch account (uid %d)" % (directory, os.geteuid()))

    def _check_dir(self):
        """The directory must be this account's own, mode 0700: records in a directory someone else can write could
        name any of this account's processes, and what others can read there (records, logs) is not theirs to read.
        An existing directory with another mode is refused, not changed: the ros_robot role and a first start create
        it 0700, so another mode means someone set it up by hand, and they should decide."""
        info = os.stat(self.dir)
        if not stat.S_ISDIR(info.st_mode):
            raise StateError("%s is not a directory" % self.dir)
        if info.st_uid != os.geteuid():
            raise StateError(
                "state directory %s belongs to uid %d, not to the launch account (uid %d)"
                % (self.dir, info.st_uid, os.geteuid())
            )
        if info.st_mode & 0o022:
            raise StateError(
                "state directory %s is writable by group or others (mode %o)" % (self.dir, info.st_mode & 0o777)
            )
        if info.st_mode & 0o077:
            raise StateError(
                "state directory %s has mode %o; it must be 0700 (only the launch account may read its records and"
                " logs): chmod 0700 %s" % (self.dir, info.st_mode & 0o777, self.dir)
            )

    def exists(self):
        """Is there a directory for this launch? StateError when the state directory is not this account's own."""
        if not os.path.exists(self.dir):
            return False
        self._check_dir()
        if not os.path.lexists(self.launch_dir):
            return False
        self._check_own_dir(self.launch_dir)
        return True

    # --- the legacy layout (NAME.json, NAME.run.json, ... in state_dir) -----------------------------
    def legacy_request(self):
        """The record of this launch in the legacy layout, or None.

        STATE_DIR/NAME.json counts only when it says it is NAME's record: in that layout it may just as well be
        launch NAME-without-'.json'-suffix's file (launch ``a``'s ``a.run.json`` is ``NAME.json`` for ``a.run``).
        """
        if not os.path.exists(self.dir):
            return None
        self._check_dir()
        try:
            data = read_json(os.path.join(self.dir, self.name + ".json"))
        except StateError:
            return None
        if isinstance(data, dict) and data.get("name") == self.name and data.get("tag"):
            return data
        return None

    def legacy_run(self, tag):
        """The legacy layout's supervisor record of the run tagged TAG, or None."""
        try:
            data = read_json(os.path.join(self.dir, self.name + ".run.json"))
        except StateError:
            return None
        return data if isinstance(data, dict) and data.get("tag") == tag else None

    def remove_legacy(self, tag):
        """Remove this launch's legacy records (its own request and the run record with its TAG)."""
        if self.legacy_run(tag) is not None:
            os.unlink(os.path.join(self.dir, self.name + ".run.json"))
        if self.legacy_request() is not None:
            os.unlink(os.path.join(self.dir, self.name + ".json"))

    # --- lock ----------------------------------------------------------------------------------
    def lock(self, timeout):
        """Hold the launch's lock (a context manager); StateError after TIMEOUT seconds of waiting."""
        return _Lock(self.lock_file, timeout)

    # --- records -------------------------------------------------------------------------------
    def load_request(self):
        return read_json(self.request_file)

    def save_request(self, data):
        data = dict(data, version=STATE_VERSION)
        write_json(self.request_file, data)

    def load_run(self):
        return read_json(self.run_file)

    def save_run(self, data):
        write_json(self.run_file, data)

    def archive(self, extra=None):
        """Keep the finished run in NAME.last.json and remove the live records.

        The live records go even when NAME.last.json cannot be written (a full disk): a stopped launch must
        not look alive. Returns None, or why the finished run could not be kept.
        """
        record = {"request": self.load_request(), "run": self.load_run(), "archived_at": time.time()}
        record.update(extra or {})
        problem = None
        try:
            write_json(self.last_file, record)
        except StateError as exc:
            problem = str(exc)
        for path in (self.request_file, self.run_file):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        return problem

    # --- logs ----------------------------------------------------------------------------------
    def rotate_log(self):
        try:
            if os.path.exists(self.log_file):
                os.replace(self.log_file, self.previous_log_file)
            if not os.path.isdir(self.ros_log_dir):
                os.makedirs(self.ros_log_dir, mode=0o700)
        except OSError as exc:
            raise StateError("cannot prepare the logs in %s: %s" % (self.dir, exc)) from exc

    def log_paths(self):
        return {
            "output": self.log_file,
            "previous_output": self.previous_log_file,
            "ros_log_dir": self.ros_log_dir,
            "state": self.request_file,
        }

    def tail(self, count):
        return tail_lines(self.log_file, count)


class _Lock:
    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout
        self.handle = None

    def __enter__(self):
        try:
            self.handle = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a")
        except OSError as exc:
            raise StateError("cannot open the lock %s: %s" % (self.path, exc)) from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.handle.close()
                    raise StateError(
                        "another ros_launch call holds %s for more than %ss" % (self.path, self.timeout)
                    ) from None
                time.sleep(0.05)

    def __exit__(self, *exc):
        self.handle.close()
        return False


def secret_key(path, create=True):
    """The launch account's key for digests of secret_env values: 32 random bytes (hex) in PATH, mode 0600.

    It lives outside the state directory (in the account's home), so that a copy of a record is no help in
    guessing a short secret. Created on first use when CREATE; None when it does not exist and CREATE is false.
    StateError when the file is not the account's own private file.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        if not create:
            return None
        return _create_key(path)
    except OSError as exc:
        raise StateError("cannot read the secret_env key %s: %s" % (path, exc)) from exc
    with os.fdopen(fd) as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
            raise StateError(
                "the secret_env key %s must be a file of the launch account with mode 0600 (it is mode %o, uid %d)"
                % (path, info.st_mode & 0o777, info.st_uid)
            )
        key = handle.read().strip()
    if len(key) < 64:
        raise StateError("the secret_env key %s is damaged; remove it (running launches then count as changed)" % path)
    return key


def _create_key(path):
    """Write a new key beside PATH and link it into place: readers see no key or the whole key, and of two calls
    that create one at once, one wins and the other reads the winner's."""
    key = binascii.hexlify(os.urandom(32)).decode()
    tmp = "%s.tmp.%d" % (path, os.getpid())
    try:
        replace_file(tmp, lambda handle: handle.write(key + "\n"))
        os.link(tmp, path)
    except FileExistsError:
        return secret_key(path, create=False)
    except (OSError, StateError) as exc:
        raise StateError("cannot create the secret_env key %s: %s" % (path, exc)) from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return key
