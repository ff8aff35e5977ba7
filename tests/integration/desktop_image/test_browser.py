"""A person's view of the desktop, through Debian's Chromium: noVNC and VS Code, logged in with the password the
desktop_docker role generated. Screenshots go to .cache/test-artifacts/desktop_image/."""

import json
import time

from conftest import canvas_colours, log_in_to_novnc, record, shot


def test_novnc_shows_the_desktop(page, desktop):
    start = time.monotonic()
    log_in_to_novnc(page, desktop, desktop.password)
    page.wait_for_selector("html.noVNC_connected", timeout=60000)
    connected = time.monotonic() - start
    # a desktop that failed to draw is one colour (the black root window); Xfce is thousands
    deadline = time.monotonic() + 60
    while True:
        colours, top_share = canvas_colours(page)
        if (colours >= 32 and top_share < 0.97) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    shot(page, "novnc-desktop")
    record("novnc", {"connected_s": round(connected, 2), "colours": colours, "top_colour_share": round(top_share, 3)})
    assert colours >= 32 and top_share < 0.97, "the desktop is not drawn: %d colours, top %.0f%%" % (
        colours,
        100 * top_share,
    )
    # the session runs as the desktop user, and the activity report sees this browser's connection
    _rc, out, _err = desktop.exec("desktop-activity")
    assert json.loads(out)["connections"]["novnc"] >= 1, out
    _rc, out, _err = desktop.exec(
        "ps -o user= -C xfce4-session -C Xvnc -C Xtigervnc -C websockify -C node | sort -u", user="0"
    )
    assert out.split() == ["student"], out


def test_novnc_refuses_a_wrong_password(page, desktop):
    right = desktop.password
    # VNC authentication compares only the first 8 characters: change the first one
    wrong = ("x" if right[0] != "x" else "y") + right[1:]
    log_in_to_novnc(page, desktop, wrong)
    page.wait_for_selector("#noVNC_status.noVNC_status_error", timeout=60000)
    message = page.inner_text("#noVNC_status")
    shot(page, "novnc-wrong-password")
    assert "Authentication failure" in message, message
    assert page.query_selector("html.noVNC_connected") is None


def test_vscode_opens_after_its_login(page, desktop):
    page.goto(desktop.url("vscode", "/?folder=/my_ros_data/catkin_ws"))
    page.wait_for_selector("input[type=password]", timeout=300000)
    page.fill("input[type=password]", "not-" + desktop.password)
    page.keyboard.press("Enter")
    page.wait_for_selector(".error", timeout=60000)
    assert "Incorrect password" in page.inner_text(".error")
    shot(page, "vscode-wrong-password")
    page.fill("input[type=password]", desktop.password)
    page.keyboard.press("Enter")
    page.wait_for_selector(".monaco-workbench", timeout=180000)
    # the explorer lists the seeded workspace (the first listing can take half a minute on a busy machine)
    page.wait_for_selector(".explorer-folders-view .monaco-list-row", timeout=120000)
    assert "src" in page.inner_text(".explorer-folders-view").split()
    shot(page, "vscode-workbench")
