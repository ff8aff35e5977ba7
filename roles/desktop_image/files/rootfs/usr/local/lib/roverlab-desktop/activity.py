"""Report what happens in this desktop, for the idle culler: /run/desktop/activity.json.

    desktop-activity            print the report now (JSON), without writing the file
    desktop-activity --loop N   write the file every N seconds (desktop-entrypoint runs this)

The report (format version 1):

    {"version": 1, "time": <unix seconds>, "interval": N,
     "connections": {"novnc": n, "vnc": n, "vscode": n, "ssh": n},   # established, from outside the desktop
     "ros": {"count": n, "processes": [{"pid": p, "command": "roslaunch demo talker.launch"}, ...]},
     "cpu": {"usage_usec": total, "percent": average over the last interval (null on the first sample)},
     "last_active": <unix seconds of the last report that had a connection or a ROS process, or null>}

Connections come from /proc/net/tcp*: established sockets on the desktop's ports whose peer is not loopback (the
proxy's own connection to VNC and health checks are local). ROS processes are the user's processes running ROS
tools (roscore, roslaunch, rosrun, rostopic, ...) or a ROS node (an argument `__name:=` or `__log:=`). CPU is the
container's cgroup usage. Stdlib only; runs as the desktop user.
"""

import json
import os
import sys
import time

PATH = "/run/desktop/activity/activity.json"  # /run/desktop/activity.json links to it
PORTS = {80: "novnc", 5900: "vnc", 8080: "vscode", 2222: "ssh"}
ESTABLISHED = "01"
ROS_TOOLS = {
    "roscore",
    "rosmaster",
    "roslaunch",
    "rosrun",
    "rostopic",
    "rosservice",
    "rosbag",
    "rosnode",
    "rosparam",
    "rqt",
    "rviz",
    "gzserver",
    "gzclient",
}
ROS_NODE_ARGS = ("__name:=", "__log:=")


def loopback(hex_address):
    """True for 127.0.0.0/8, ::1 and ::ffff:127.x.x.x as /proc/net/tcp* writes them (32-bit words, host order)."""
    if len(hex_address) == 8:
        return hex_address.endswith("7F")
    if hex_address == "00000000000000000000000001000000":
        return True
    return hex_address.startswith("0000000000000000FFFF0000") and hex_address.endswith("7F")


def connections():
    counts = dict.fromkeys(PORTS.values(), 0)
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            port = int(local.rsplit(":", 1)[1], 16)
            if state == ESTABLISHED and port in PORTS and not loopback(remote.rsplit(":", 1)[0]):
                counts[PORTS[port]] += 1
    return counts


def ros_processes():
    found = []
    uid = os.getuid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            if os.stat("/proc/" + entry).st_uid != uid:
                continue
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except OSError:
            continue
        if not argv:
            continue
        names = {os.path.basename(a) for a in argv[:2]}
        if names & ROS_TOOLS or any(a.startswith(ROS_NODE_ARGS) for a in argv):
            found.append({"pid": int(entry), "command": " ".join(argv)[:200]})
    return sorted(found, key=lambda p: p["pid"])


def cpu_usage_usec():
    try:
        with open("/sys/fs/cgroup/cpu.stat") as f:  # cgroup v2
            for line in f:
                if line.startswith("usage_usec "):
                    return int(line.split()[1])
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/cpuacct/cpuacct.usage") as f:  # cgroup v1, nanoseconds
            return int(f.read()) // 1000
    except OSError:
        return None


def report(previous, interval):
    now = time.time()
    usage = cpu_usage_usec()
    percent = None
    if previous and usage is not None and previous["cpu"]["usage_usec"] is not None:
        elapsed = now - previous["time"]
        if elapsed > 0:
            percent = round(100.0 * (usage - previous["cpu"]["usage_usec"]) / 1e6 / elapsed, 1)
    conns = connections()
    ros = ros_processes()
    active = any(conns.values()) or bool(ros)
    last_active = now if active else (previous or {}).get("last_active")
    return {
        "version": 1,
        "time": round(now, 3),
        "interval": interval,
        "connections": conns,
        "ros": {"count": len(ros), "processes": ros},
        "cpu": {"usage_usec": usage, "percent": percent},
        "last_active": round(last_active, 3) if last_active else None,
    }


def write(data):
    tmp = PATH + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, PATH)


def main(argv):
    if len(argv) == 3 and argv[1] == "--loop":
        interval = max(1, int(argv[2]))
        previous = None
        while True:
            previous = report(previous, interval)
            write(previous)
            time.sleep(interval)
    if len(argv) == 1:
        try:
            with open(PATH) as f:
                previous = json.load(f)
        except (OSError, ValueError):
            previous = None
        json.dump(report(previous, previous["interval"] if previous else 0), sys.stdout, sort_keys=True, indent=1)
        sys.stdout.write("\n")
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
