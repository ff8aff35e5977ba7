"""A robot's own sshd: own host key, own config (absolute path: sshd re-executes itself with it)."""

import glob
import os
import subprocess
import time

# libfaketime from Debian's libfaketime package: a robot started with a clock offset gets it preloaded
# into every SSH session, so everything run there (date, Python, the module) sees the skewed clock.
FAKETIME_GLOB = "/usr/lib/*/faketime/libfaketime.so.1"


def keygen(path, comment):
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], check=True)
    with open(path + ".pub") as pub:
        return " ".join(pub.read().split()[:2])


def faketime_library():
    found = sorted(glob.glob(FAKETIME_GLOB))
    if not found:
        raise RuntimeError("a robot with a clock offset needs libfaketime (apt-get install libfaketime)")
    return found[0]


def write_config(path, address, host_key, pid_file, authorized_keys, clock_offset=None):
    lines = [
        "# sshd of a stand-in robot (scripts/lablib); started with -f and this absolute path",
        # every address of the robot's own namespace (its own network only), so that its tailnet address works too
        "# the robot's address: %s; its tailnet address comes later (scripts/lablib/tailnet.py)" % address,
        "ListenAddress 0.0.0.0",
        "Port 22",
        "HostKey %s" % host_key,
        "PidFile %s" % pid_file,
        "PermitRootLogin prohibit-password",
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM yes",  # as on Debian and Ubuntu: key logins to accounts without a password work
        # the authorized_keys file lives in the lab directory, not in a home that sshd would check
        "StrictModes no",
        "AuthorizedKeysFile %s" % authorized_keys,
        # many parallel Ansible connections (forks) must not be dropped as a connection flood
        "MaxStartups 200:30:400",
        "MaxSessions 100",
        "PrintMotd no",
        "Subsystem sftp /usr/lib/openssh/sftp-server",
        "LogLevel INFO",
    ]
    if clock_offset:
        lines.append(
            "SetEnv LD_PRELOAD=%s FAKETIME=%+d FAKETIME_DONT_FAKE_MONOTONIC=1" % (faketime_library(), int(clock_offset))
        )
    with open(path, "w") as config:
        config.write("\n".join(lines) + "\n")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    subprocess.run(["/usr/sbin/sshd", "-t", "-f", path], check=True, capture_output=True)


def start(netns, config, log_file, pid_file, timeout=10.0):
    """Start sshd inside NETNS; it daemonises and writes PID_FILE. Returns the daemon's PID."""
    if os.path.exists(pid_file):
        os.unlink(pid_file)
    subprocess.run(
        ["ip", "netns", "exec", netns, "/usr/sbin/sshd", "-f", os.path.abspath(config), "-E", log_file], check=True
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(pid_file) as pid:
                return int(pid.read().strip())
        except (OSError, ValueError):
            time.sleep(0.02)
    raise RuntimeError("sshd in %s wrote no pid file within %ss; see %s" % (netns, timeout, log_file))
