"""State files, the lock and log tails of a launch."""

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros import state as _ros_state
from ansible_collections.roverlab.clouddesktop.plugins.module_utils._ros.state import (
    StateError,
    StateStore,
    read_json,
    tail_lines,
)


def test_names_are_restricted():
    for bad in ("", "../x", "a/b", "-x", ".hidden", "x" * 65, "a b", "talker\n"):
        with pytest.raises(StateError, match="launch name"):
            StateStore("/tmp", bad)
    StateStore("/tmp", "bringup_1.v2-test")


def test_directory_is_private_and_must_be_ours(tmp_path):
    store = StateStore(str(tmp_path / "state"), "x")
    store.ensure_dir()
    assert (os.stat(store.dir).st_mode & 0o777) == 0o700
    os.chmod(store.dir, 0o755)  # noqa: S103 - readable by everyone: records and logs are not theirs to read
    with pytest.raises(StateError, match=r"has mode 755; it must be 0700.*chmod 0700"):
        store.ensure_dir()
    with pytest.raises(StateError, match="must be 0700"):
        store.exists()
    os.chmod(store.dir, 0o777)  # noqa: S103 - the point of the test
    with pytest.raises(StateError, match="writable by group or others"):
        store.ensure_dir()


def test_records_round_trip_and_archive(tmp_path):
    store = StateStore(str(tmp_path), "talker")
    store.ensure_dir()
    assert store.load_request() is None
    store.save_request({"tag": "t1"})
    store.save_run({"exits": [{"code": 0}]})
    assert store.load_request()["tag"] == "t1" and store.load_request()["version"] == 2
    store.archive({"steps": ["x"]})
    assert store.load_request() is None and store.load_run() is None
    last = read_json(store.last_file)
    assert last["request"]["tag"] == "t1" and last["run"]["exits"] == [{"code": 0}] and last["steps"] == ["x"]
    assert not [p for p in os.listdir(store.launch_dir) if ".tmp." in p]


def test_records_and_the_lock_are_private_whatever_the_umask(tmp_path):
    store = StateStore(str(tmp_path / "state"), "x")
    store.ensure_dir()
    old = os.umask(0)
    try:
        store.save_request({"tag": "t"})
        store.save_run({"tag": "t"})
        with store.lock(1):
            pass
        store.archive()
    finally:
        os.umask(old)
    for name in ("lock", "last.json"):
        assert os.stat(os.path.join(store.launch_dir, name)).st_mode & 0o777 == 0o600, name


def test_the_secret_key_is_private_and_refused_otherwise(tmp_path):
    path = tmp_path / "key"
    assert _ros_state.secret_key(str(path), create=False) is None
    key = _ros_state.secret_key(str(path))
    assert len(key) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert _ros_state.secret_key(str(path)) == key
    path.chmod(0o644)
    with pytest.raises(StateError, match="mode 0600"):
        _ros_state.secret_key(str(path))


def test_damaged_records_are_reported(tmp_path):
    store = StateStore(str(tmp_path), "talker")
    store.ensure_dir()
    with open(store.request_file, "w") as handle:
        handle.write("{not json")
    with pytest.raises(StateError, match=r"cannot read .*talker/launch\.json"):
        store.load_request()


def test_lock_serialises_and_times_out(tmp_path):
    store = StateStore(str(tmp_path), "talker")
    store.ensure_dir()
    held = threading.Event()
    release = threading.Event()

    def holder():
        with store.lock(5):
            held.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    held.wait(5)
    started = time.monotonic()
    with pytest.raises(StateError, match="holds"), store.lock(0.3):
        pass
    assert time.monotonic() - started >= 0.3
    release.set()
    thread.join()
    with store.lock(1):
        pass


def test_log_rotation_and_tail_without_escape_sequences(tmp_path):
    store = StateStore(str(tmp_path), "talker")
    store.ensure_dir()
    with open(store.log_file, "w") as handle:
        handle.write("old\n")
    store.rotate_log()
    assert Path(store.previous_log_file).read_text() == "old\n"
    assert os.path.isdir(store.ros_log_dir)
    with open(store.log_file, "w") as handle:
        handle.write("".join("line %d\n" % i for i in range(100)))
        handle.write("\x1b]2;/path/talker.launch\x07\x1b[1mstarted roslaunch server\x1b[0m\n")
    assert store.tail(2) == ["line 99", "started roslaunch server"]
    assert tail_lines(str(tmp_path / "missing"), 5) == []
    assert store.tail(0) == []


def test_a_failed_write_keeps_the_old_record_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = StateStore(str(tmp_path), "talker")
    store.ensure_dir()
    store.save_request({"tag": "old"})

    def disk_full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_ros_state.json, "dump", disk_full)
    with pytest.raises(StateError, match=r"cannot write .*talker/launch\.json: .*No space left"):
        store.save_request({"tag": "new"})
    monkeypatch.undo()
    assert store.load_request()["tag"] == "old"
    assert sorted(os.listdir(store.launch_dir)) == ["launch.json"]


def test_archive_removes_the_live_records_even_when_the_last_run_cannot_be_kept(tmp_path, monkeypatch):
    store = StateStore(str(tmp_path), "talker")
    store.ensure_dir()
    store.save_request({"tag": "t"})
    store.save_run({"exits": []})
    real_write = _ros_state.write_json

    def last_file_fails(path, data):
        if path == store.last_file:
            raise StateError("cannot write %s: disk full" % path)
        real_write(path, data)

    monkeypatch.setattr(_ros_state, "write_json", last_file_fails)
    assert "disk full" in store.archive()
    assert store.load_request() is None and store.load_run() is None


def test_a_failed_text_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "logging.conf"
    _ros_state.write_text(str(path), "old\n")

    def disk_full(_handle):
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(StateError, match=r"cannot write .*logging\.conf: .*No space left"):
        _ros_state.replace_file(str(path), disk_full)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logging.conf"]
