"""The desktop image as the desktop_image role builds it: idempotent, labelled, no secret inside, exportable."""

import json
import tarfile

import yaml
from conftest import EXPORT, IMAGE, REPO, TAG, image_vars, playbook, recap, record


def collection_version():
    return yaml.safe_load((REPO / "galaxy.yml").read_text())["version"]


def test_second_build_changes_nothing(built_image):
    rc, output, seconds = playbook("desktop_image.yml", image_vars())
    assert rc == 0, output[-6000:]
    assert recap(output)[1] == 0, output[-6000:]
    record("build-cached", {"seconds": round(seconds, 1)})


def test_check_mode_changes_nothing(built_image):
    rc, output, _seconds = playbook("desktop_image.yml", image_vars(), "--check")
    assert rc == 0, output[-6000:]
    assert recap(output)[1] == 0, output[-6000:]


def test_labels_and_contract(engine, built_image):
    image = engine.images.get("%s:%s" % (IMAGE, TAG))
    config = image.attrs["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == collection_version()
    assert labels["io.roverlab.clouddesktop.collection-version"] == collection_version()
    assert labels["io.roverlab.clouddesktop.code-server"] == "4.89.1"
    assert labels["io.roverlab.clouddesktop.tailscale"].startswith("v1.")
    assert set(config["ExposedPorts"]) == {"80/tcp", "2222/tcp", "5900/tcp", "8080/tcp"}
    assert config["Entrypoint"][0] == "/usr/bin/tini"
    assert config["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/desktop-healthcheck"]
    record("image", {"size_bytes": image.attrs["Size"], "id": image.id})


def test_no_password_in_the_image(engine, built_image):
    image = engine.images.get("%s:%s" % (IMAGE, TAG))
    env = dict(item.split("=", 1) for item in image.attrs["Config"]["Env"])
    assert not {"PASSWORD", "VNC_PASSWORD", "AUTHKEY"} & set(env)
    # nothing that looks like a VNC password file or a code-server password either
    out = engine.containers.run(
        "%s:%s" % (IMAGE, TAG),
        entrypoint=["sh", "-c", "ls -a /my_ros_data /my_ros_data/.desktop 2>&1; ls /run/desktop 2>&1; true"],
        remove=True,
        network_mode="none",
    ).decode()
    assert "vnc.passwd" not in out and "config.yaml" not in out, out
    assert "No such file" in out  # neither /my_ros_data/.desktop nor /run/desktop exist before a start


def test_desktop_user_and_seed(engine, built_image):
    out = engine.containers.run(
        "%s:%s" % (IMAGE, TAG),
        entrypoint=["sh", "-c", "id student; stat -c '%u %n' /my_ros_data /my_ros_data/catkin_ws/devel/setup.sh"],
        remove=True,
        network_mode="none",
    ).decode()
    assert "uid=1000(student) gid=1000(student)" in out
    assert "1000 /my_ros_data\n" in out
    assert "1000 /my_ros_data/catkin_ws/devel/setup.sh" in out  # the seeded workspace is built


def test_cuda_variant_environment(engine, built_image):
    image = engine.images.get("%s:%s-cuda" % (IMAGE, TAG))
    env = dict(item.split("=", 1) for item in image.attrs["Config"]["Env"])
    assert env["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "all"
    assert image.attrs["Config"]["Labels"]["io.roverlab.clouddesktop.variant"] == "cuda"


def test_export_holds_both_images(engine, built_image):
    with tarfile.open(EXPORT) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    tags = sorted(tag for entry in manifest for tag in entry["RepoTags"])
    assert tags == ["%s:%s" % (IMAGE, TAG), "%s:%s-cuda" % (IMAGE, TAG)]
    record("export", {"path": str(EXPORT), "size_bytes": EXPORT.stat().st_size, "format": "docker save (tar)"})
