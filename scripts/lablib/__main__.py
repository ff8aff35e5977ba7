"""Command line for the stand-in robots (root required).

    python3 -m lablib --dir DIR up [--count 3] [--prefix roverlab] [--subnet-base 10.201]
    python3 -m lablib --dir DIR status | inventory | down

`up` is idempotent (running robots are kept); `inventory` prints the robots group as JSON (valid YAML).
"""

import argparse
import json
import sys

from .lab import RobotLab


def main(argv=None):
    parser = argparse.ArgumentParser(prog="lablib", description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True, help="lab directory (keys, known_hosts, robot files, lab.json)")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="create robots 1..COUNT with sshd and roscore")
    up.add_argument("--count", type=int, default=3)
    up.add_argument("--prefix", default="roverlab")
    up.add_argument("--subnet-base", default="10.201", help="robot N gets BASE.N.2/24")
    sub.add_parser("down", help="remove every robot of the lab")
    sub.add_parser("status", help="namespace, sshd and master of each robot")
    inventory = sub.add_parser("inventory", help="the robots group with connection and ros_robot variables")
    inventory.add_argument("--login", choices=["root", "launch"], default="root", help="the account Ansible logs in as")
    args = parser.parse_args(argv)

    lab = RobotLab.load(args.dir)
    if args.command == "up":
        if lab.robots and (lab.prefix, lab.subnet_base) != (args.prefix, args.subnet_base):
            parser.error(
                "%s holds a lab with prefix %s on %s; take it down first" % (args.dir, lab.prefix, lab.subnet_base)
            )
        lab.prefix, lab.subnet_base = args.prefix, args.subnet_base
        lab.create(args.count)
        print(json.dumps(lab.status(), indent=1))
    elif args.command == "down":
        lab.destroy()
    elif args.command == "status":
        status = lab.status()
        print(json.dumps(status, indent=1))
        return 0 if status and all(all(v for k, v in s.items() if k != "address") for s in status.values()) else 1
    else:
        print(json.dumps(lab.inventory(args.login), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
