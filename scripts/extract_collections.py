"""Install collections from the PyPI ``ansible`` wheel, for machines that cannot reach Galaxy.

Usage: extract_collections.py WHEEL REQUIREMENTS_YML DEST

Every collection named in REQUIREMENTS_YML is copied out of WHEEL into DEST/ansible_collections,
with its MANIFEST.json and FILES.json, exactly as ``ansible-galaxy collection install`` lays it out.
The version in the wheel must equal the pinned version, or nothing is installed.
"""

import json
import sys
import zipfile

import yaml


def main(wheel_path, requirements_path, dest):
    with open(requirements_path, encoding="utf-8") as f:
        wanted = {c["name"]: str(c["version"]) for c in yaml.safe_load(f)["collections"]}
    with zipfile.ZipFile(wheel_path) as wheel:
        prefixes = {}
        for name, version in wanted.items():
            prefix = "ansible_collections/%s/" % name.replace(".", "/")
            try:
                manifest = json.loads(wheel.read(prefix + "MANIFEST.json"))
            except KeyError:
                sys.exit("%s is not in %s" % (name, wheel_path))
            found = manifest["collection_info"]["version"]
            if found != version:
                sys.exit("%s: requirements.yml pins %s but the wheel holds %s" % (name, version, found))
            prefixes[name] = prefix
        members = [m for m in wheel.namelist() if any(m.startswith(p) for p in prefixes.values())]
        wheel.extractall(dest, members)
    for name in sorted(wanted):
        print("  %s %s" % (name, wanted[name]))


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
