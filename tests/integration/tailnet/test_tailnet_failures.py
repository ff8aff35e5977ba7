"""What a desktop and the playbook say when the tailnet fails, and how one playbook run sets a desktop right.

- A desktop whose key the coordination server no longer takes: its log says the key was refused and that it needs
  a re-key; the playbook then issues a new key (through headscale's API) and recreates the desktop: one run.
- A desktop whose node expired (headscale expired it): its log says the login expired; one run re-keys it.
- The coordination server down: the desktop's log says it cannot reach it, the playbook stops before it changes
  anything and names the server; when the server is back the desktop is on the tailnet again by itself.
"""

import re

from conftest import CONTAINER, PREFIX, REPO, container_logs, docker, log_mark, run_tailnet_playbook, wait_for

BOB = "bob"
BOB_CONTAINER = "%s-%s" % (PREFIX, BOB)


def one_line(output):
    """OUTPUT with every run of white space made one space: the YAML result format (ansible.cfg) folds a long
    message over lines wherever it likes."""
    return " ".join(output.split())


def test_a_revoked_key_is_named_in_the_desktops_log_and_one_run_rekeys_it(desktop, tailnet):
    hs = tailnet.server()
    headscale = tailnet.program("headscale")
    key = hs.auth_key(headscale, "desktops", expiration="1h")
    hs.expire_key(headscale, "desktops", key)  # revoked before the desktop used it
    users = [{"name": "alice"}, {"name": BOB, "tailscale_auth_key": key}]
    try:
        desktop.converge(desktop_users=users)
        refused = wait_for(
            lambda: re.search(r"tailscale: the coordination server \(\S+\) refused this desktop's auth key: .*expired.*"
                              r"re-key the desktop", container_logs(BOB_CONTAINER)),
            timeout=180, interval=2, what="bob's log to say its key was refused",
        )  # fmt: skip
        assert refused
        # the re-key: the inventory no longer gives bob a key, so the role issues one through headscale's API
        mark = log_mark()
        output = desktop.converge(desktop_users=[{"name": "alice"}, {"name": BOB}])
        assert "changed" in output
        wait_for(
            lambda: re.search(
                r"tailscale: joined the tailnet as %s \(100\." % BOB_CONTAINER, container_logs(BOB_CONTAINER, mark)
            ),
            timeout=180, interval=2, what="bob to join the tailnet after the re-key",
        )  # fmt: skip
    finally:
        desktop.converge(desktop_users=[{"name": "alice"}, {"name": BOB, "state": "absent"}])
        docker("volume", "rm", "-f", "%s-data" % BOB_CONTAINER, check=False)


def test_an_expired_node_is_named_in_the_log_and_one_run_rekeys_it(desktop, tailnet):
    hs = tailnet.server()
    headscale = tailnet.program("headscale")
    node = next(n for n in hs.nodes(headscale) if n.get("given_name") == CONTAINER)
    hs.expire_node(headscale, node["id"])
    mark = log_mark()
    docker("restart", CONTAINER, timeout=180)
    wait_for(
        lambda: re.search(r"refused this desktop's auth key|login has expired", container_logs(CONTAINER, mark)),
        timeout=180, interval=2, what="alice's log to say that she cannot log in",
    )  # fmt: skip
    mark = log_mark()
    output = desktop.converge()
    assert re.search(r"alice: node key expired .*a new key was issued", one_line(output)), output[-4000:]
    address = desktop.wait_joined(since=mark)
    assert address == desktop.address, "the desktop kept its node (and address) across the re-key"
    # headscale marks the node online once its map session runs (a moment after `tailscale up` returns)
    ok = wait_for(
        lambda: [n for n in hs.nodes(headscale) if n.get("given_name") == CONTAINER and n.get("online")],
        timeout=60, interval=1, what="headscale to see alice's node online",
    )  # fmt: skip
    assert len([n for n in hs.nodes(headscale) if n.get("given_name") == CONTAINER]) == 1, ok


def test_the_coordination_server_down(desktop, tailnet, robots):
    hs = tailnet.server()
    robot_ip = tailnet.robots[robots.robots[0].name]["ip"]
    hs.pause()
    try:
        # the playbook stops before it changes anything, naming the server
        rc_output = desktop_converge_failing(desktop)
        assert "cannot reach the coordination server at %s" % hs.url in one_line(rc_output), rc_output[-3000:]
        # a desktop that starts now says why it is not on the tailnet
        mark = log_mark()
        docker("restart", CONTAINER, timeout=180)
        wait_for(
            lambda: "tailscale: cannot reach the coordination server (%s)" % hs.url in container_logs(CONTAINER, mark),
            timeout=240, interval=2, what="alice's log to say the server is unreachable",
        )  # fmt: skip
    finally:
        hs.start(tailnet.program("headscale"))
        tailnet.headscale = {"pid": hs.pid, "started": hs.started}
        tailnet.save()
    # tailscaled keeps trying: the desktop is back on the tailnet without a playbook run
    wait_for(
        lambda: desktop.tailscale("ping", "--c=1", "--timeout=5s", robot_ip, check=False).returncode == 0,
        timeout=180, interval=3, what="the desktop to reach the robot again",
    )  # fmt: skip


def desktop_converge_failing(desktop):
    rc, output, _seconds = run_tailnet_playbook(REPO / "playbooks" / "desktop_docker.yml", desktop.extra)
    assert rc != 0, output[-3000:]
    return output
