"""The shell commands that README.md, docs/*.md and roles/*/README.md show, and checks that they run as written.

A command is taken from every ```sh / ```bash / ```shell / ```console block. It must run from the repository root
of a fresh clone after `scripts/setup.sh`:

- its program exists: a path in the checkout (`./scripts/lab.sh`, `.venv/bin/ansible-playbook`), a Debian program
  that a Debian 12 machine has after setup (a required/important/standard package or one that scripts/setup.sh
  installs), or a venv program named bare after the doc activated the venv (`. .venv/bin/activate`);
- every relative path it names exists (or is made by the command before it, or by the script that owns it);
- `ansible-playbook`: the playbook exists, every `-e` variable is one the playbook or its roles use, every
  `--limit` host and group is in the inventory, every `--tags` tag is in the playbook, every option is real;
- `ansible`: the hosts are in the inventory, the module exists and `-a` only passes its options;
- `ansible-doc`: the role or plugin exists; `scripts/test.sh`: the stages exist; `scripts/lab.sh`: the subcommand.

A block whose first line is a comment `# on <a machine>` (`# on a rover node`) runs elsewhere: its commands are
listed (kind `node`) but not checked here. Each command gets a kind, so that the lab test can run the ones that
need the lab: `static` (runs anywhere after setup), `lab` (needs `scripts/lab.sh up`), `own-lab` (needs a lab of
your own, `-i inventories/<lab>`), `node`. `python tests/unit/docs/doc_commands.py` prints them all.
"""

import dataclasses
import fnmatch
import glob
import os
import re
import shlex
import subprocess
import sys
import warnings
from functools import lru_cache
from pathlib import Path

import yaml

try:
    from jinja2 import Environment, TemplateSyntaxError, meta
except ImportError:  # pragma: no cover - jinja2 comes with ansible-core
    Environment = None

REPO = Path(__file__).resolve().parents[3]
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SHELL_LANGS = {"sh", "bash", "shell", "console"}
NODE_BLOCK = re.compile(r"^#\s*on\s+\S")
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"<[^<>/\s]+>")
BUILTINS = {"cd", "export", ".", "source", "echo", "set", "unset", "true", "false", "test", "[", "exit", "read"}
# programs of the venv (requirements.txt); bare, they need the venv activated
VENV_BIN = Path(sys.prefix) / "bin"
# paths that appear only once a script has run: prefix -> the script that makes them (it must name the prefix)
GENERATED = {
    ".venv/": "scripts/setup.sh",
    ".cache/lab/": "scripts/lab.sh",
    ".cache/test-logs/": "scripts/run_tests.py",
    ".cache/docs-site/": "scripts/run_tests.py",
}
# ansible-playbook / ansible options: name -> takes a value
PLAYBOOK_OPTIONS = {
    "-i": True, "--inventory": True, "-e": True, "--extra-vars": True, "-l": True, "--limit": True,
    "-t": True, "--tags": True, "--skip-tags": True, "-C": False, "--check": False, "-D": False, "--diff": False,
    "-b": False, "--become": False, "-K": False, "--ask-become-pass": False, "--ask-vault-pass": False,
    "-J": False, "--vault-password-file": True, "--vault-id": True, "-u": True, "--user": True, "-f": True,
    "--forks": True, "--syntax-check": False, "--list-tasks": False, "--list-hosts": False, "--list-tags": False,
    "--step": False, "--start-at-task": True, "-v": False, "-vv": False, "-vvv": False, "-vvvv": False,
    "-k": False, "--private-key": True, "-c": True, "--connection": True, "-m": True, "--module-name": True,
    "-a": True, "--args": True, "-o": False, "--one-line": False, "-B": True, "-P": True,
}  # fmt: skip
DEFAULT_INVENTORY = "inventories/lab/hosts.yml"
EXAMPLE_INVENTORY = "inventories/example"  # what `inventories/<lab>` stands for: a copy of the example
CONDITIONALS = {"when", "that", "failed_when", "changed_when", "until"}


@dataclasses.dataclass
class Command:
    file: str
    line: int
    text: str
    argv: list
    env: dict
    node: bool = False  # runs on another machine (a `# on ...` block)
    kind: str = "static"
    problems: list = dataclasses.field(default_factory=list)

    def where(self):
        return "%s:%d: %s" % (self.file, self.line, self.text)


# --- reading the docs --------------------------------------------------------------------------------------------


def doc_files():
    files = ["README.md", *sorted(glob.glob("docs/*.md", root_dir=REPO))]
    return files + sorted(glob.glob("roles/*/README.md", root_dir=REPO))


def logical_lines(block, first_line):
    """(line number, text) of each command line of a block: continuations joined, prompts and comments dropped."""
    pending, start = "", first_line
    for number, raw in enumerate(block.splitlines(), first_line):
        line = raw.rstrip()
        if not pending:
            start = number
            line = line.lstrip()
            if line.startswith("$ "):
                line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text and not text.startswith("#"):
            yield start, text


def split_commands(text):
    """Simple commands of a line: lists of words, split at && || ; | (comments dropped)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, words = [], []
    for token in lexer:
        if token in ("&&", "||", ";", "|", "&"):
            if words:
                commands.append(words)
            words = []
        else:
            words.append(token)
    if words:
        commands.append(words)
    return commands


def commands_of(path):
    text = (REPO / path).read_text(encoding="utf-8")
    found = []
    for fence in FENCE.finditer(text):
        if fence.group(1).lower() not in SHELL_LANGS:
            continue
        body = fence.group(2)
        first = text.count("\n", 0, fence.start(2)) + 1
        node = bool(NODE_BLOCK.match(body.lstrip()))
        for number, line in logical_lines(body, first):
            try:
                simple = split_commands(line)
            except ValueError as exc:
                found.append(Command(path, number, line, [], {}, node, problems=["cannot parse: %s" % exc]))
                continue
            for words in simple:
                env = {}
                while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                    name, value = words.pop(0).split("=", 1)
                    env[name] = value
                found.append(Command(path, number, line, words, env, node))
    return found


# --- what exists -------------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def setup_apt_packages():
    """The packages scripts/setup.sh installs, and what they depend on directly (python3 -> python3-minimal)."""
    text = (REPO / "scripts" / "setup.sh").read_text()
    block = re.search(r"APT_PACKAGES=\((.*?)\n\)", text, re.S).group(1)
    packages = {word for line in block.splitlines() for word in line.split("#")[0].split()}
    depends = subprocess.run(
        ["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}\n", *sorted(packages)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    for alternative in re.split(r"[,|\n]", depends):
        name = alternative.strip().split(" ")[0].split(":")[0]
        if name:
            packages.add(name)
    return packages


@lru_cache(maxsize=None)
def debian_program(name):
    """The Debian package that gives a bare program on a fresh Debian 12 machine after setup, or None."""
    for directory in ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"):
        path = Path(directory) / name
        if not path.exists():
            continue
        owner = subprocess.run(["dpkg", "-S", str(path)], capture_output=True, text=True, check=False)
        if owner.returncode:
            owner = subprocess.run(["dpkg", "-S", str(path.resolve())], capture_output=True, text=True, check=False)
        if owner.returncode:
            continue
        package = owner.stdout.split(":")[0].strip()
        priority = subprocess.run(
            ["dpkg-query", "-W", "-f=${Priority}", package], capture_output=True, text=True, check=False
        ).stdout.strip()
        if priority in ("required", "important", "standard") or package in setup_apt_packages():
            return package
    return None


def expand_placeholders(path):
    """`inventories/<lab>` is a copy of the example inventory; other placeholders match any one name."""
    path = path.replace("inventories/<lab>", EXAMPLE_INVENTORY).replace("inventories/<your lab>", EXAMPLE_INVENTORY)
    return PLACEHOLDER.sub("*", path)


def path_exists(path, aliases):
    for made, source in aliases.items():
        if path == made or path.startswith(made.rstrip("/") + "/"):
            path = source + path[len(made) :]
    if path.startswith("./"):
        path = path[2:]
    for prefix, script in GENERATED.items():
        if path.startswith(prefix) or path + "/" == prefix:
            if prefix == ".venv/":
                return (VENV_BIN.parent / path[len(prefix) :]).exists()
            return prefix.rstrip("/") in (REPO / script).read_text()
    pattern = expand_placeholders(path)
    return bool(glob.glob(pattern, root_dir=REPO)) if any(c in pattern for c in "*?[") else (REPO / pattern).exists()


def looks_like_path(word):
    if word.startswith(("-", "http://", "https://", "/", "$", "~", "{", "@")) or "=" in word or "://" in word:
        return False
    return "/" in word or re.search(r"\.(ya?ml|md|sh|py|json|cfg|txt|j2)$", word) is not None


# --- playbooks, roles, inventories -------------------------------------------------------------------------------


def load_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return list(yaml.load_all(f, Loader=LOADER))
    except (OSError, yaml.YAMLError):
        return []


def playbook_path(name):
    if name.startswith("roverlab.clouddesktop."):
        return REPO / "playbooks" / (name.split(".")[-1] + ".yml")
    return REPO / name


def role_dir(name):
    if not isinstance(name, str) or "{{" in name:
        return None
    short = name.split(".")[-1] if name.startswith("roverlab.clouddesktop.") else name
    path = REPO / "roles" / short
    return path if path.is_dir() else None


def walk(node, visit, key=None):
    visit(key, node)
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, visit, k)
    elif isinstance(node, list):
        for item in node:
            walk(item, visit, key)


def role_files(path):
    return [p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".j2")]


ROLE_INCLUDES = ("include_role", "import_role", "ansible.builtin.include_role", "ansible.builtin.import_role")
PLAYBOOK_IMPORTS = ("import_playbook", "ansible.builtin.import_playbook")


def uses_of(path):
    """Roles (("role", name)) and files (paths) a playbook or task file names."""
    found = []

    def visit(key, value):
        if key in PLAYBOOK_IMPORTS and isinstance(value, str):
            found.append(playbook_path(value) if "/" not in value and "." in value[:-4] else path.parent / value)
        if not isinstance(value, dict):
            return
        for role_key in ROLE_INCLUDES:
            if isinstance(value.get(role_key), dict):
                found.append(("role", value[role_key].get("name")))
        for entry in value.get("roles") if isinstance(value.get("roles"), list) else []:
            found.append(("role", entry.get("role", entry.get("name")) if isinstance(entry, dict) else entry))
        for vars_file in value.get("vars_files") if isinstance(value.get("vars_files"), list) else []:
            found.append(path.parent / vars_file)

    for document in load_yaml(path):
        walk(document, visit)
    return found


@lru_cache(maxsize=None)
def playbook_closure(name):
    """(files, roles) a playbook uses: itself, the playbooks it imports, its vars files, its roles and theirs."""
    files, roles, todo = [], set(), [playbook_path(name)]
    while todo:
        path = todo.pop()
        if path in files or not path.exists():
            continue
        files.append(path)
        for item in uses_of(path) if path.suffix != ".j2" else []:
            if isinstance(item, tuple):
                directory = role_dir(item[1])
                if directory and directory not in roles:
                    roles.add(directory)
                    todo.extend(role_files(directory))
            else:
                todo.append(item)
    return tuple(files), tuple(sorted(roles))


def template_variables(source, environment):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # regular expressions with \d in string literals
            return meta.find_undeclared_variables(environment.parse(source))
    except TemplateSyntaxError:
        return set()


@lru_cache(maxsize=None)
def playbook_variables(name):
    """Every variable the playbook and its roles read, define or document."""
    files, roles = playbook_closure(name)
    environment = Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    names = set()
    for role in roles:
        for defaults in (role / "defaults" / "main.yml", role / "vars" / "main.yml"):
            for document in load_yaml(defaults):
                names.update(document or {})
        for document in load_yaml(role / "meta" / "argument_specs.yml"):
            for entry in ((document or {}).get("argument_specs") or {}).values():
                names.update(entry.get("options") or {})

    def visit(key, value):
        if isinstance(value, str) and ("{{" in value or "{%" in value):
            names.update(template_variables(value, environment))
        elif key in CONDITIONALS and isinstance(value, (str, bool)):
            names.update(template_variables("{{ %s }}" % value, environment))
        if key in ("vars", "set_fact", "ansible.builtin.set_fact") and isinstance(value, dict):
            names.update(value)

    for path in files:
        if path.suffix == ".j2":
            names.update(template_variables(path.read_text(encoding="utf-8"), environment))
            continue
        for document in load_yaml(path):
            walk(document, visit)
    return frozenset(names)


@lru_cache(maxsize=None)
def playbook_tags(name):
    files = playbook_closure(name)[0]
    tags = {"all", "always", "never", "tagged", "untagged"}

    def visit(key, value):
        if key == "tags":
            tags.update([value] if isinstance(value, str) else value if isinstance(value, list) else [])

    for path in files:
        if path.suffix != ".j2":
            for document in load_yaml(path):
                walk(document, visit)
    return frozenset(t for t in tags if isinstance(t, str))


@lru_cache(maxsize=None)
def inventory_names(inventory):
    """Hosts and groups of a YAML inventory (a file, or a directory's top-level *.yml)."""
    path = REPO / expand_placeholders(inventory).replace("*", "")
    files = sorted(path.glob("*.yml")) + sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    names = {"all", "ungrouped", "localhost"}

    def group(name, body):
        names.add(name)
        body = body or {}
        names.update(body.get("hosts") or {})
        for child, child_body in (body.get("children") or {}).items():
            group(child, child_body)

    for file in files:
        for document in load_yaml(file):
            for name, body in (document or {}).items():
                group(name, body)
    return frozenset(names)


@lru_cache(maxsize=None)
def module_options(module):
    """Option names of a module, or None when it is not known here."""
    if module.startswith("roverlab.clouddesktop."):
        source = REPO / "plugins" / "modules" / (module.split(".")[-1] + ".py")
    elif module.startswith("ansible.builtin.") or "." not in module:
        import ansible.modules  # only when needed

        source = Path(ansible.modules.__file__).parent / (module.split(".")[-1] + ".py")
    else:
        return None
    if not source.exists():
        return frozenset()
    text = source.read_text(encoding="utf-8")
    docs = re.search(r'DOCUMENTATION = r?(["\']{3})(.*?)\1', text, re.S)
    options = (yaml.safe_load(docs.group(2)) or {}).get("options") or {} if docs else {}
    names = set(options)
    for option in options.values():
        names.update((option or {}).get("aliases") or [])
    names.update({"free_form", "_raw_params"} if "free_form" in options else set())
    return frozenset(names)


@lru_cache(maxsize=None)
def test_stages():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import run_tests
    finally:
        sys.path.remove(str(REPO / "scripts"))
    return tuple(stage.name for stage in run_tests.all_stages())


# --- checks per program ------------------------------------------------------------------------------------------


def parse_options(command, argv):
    options, positional, i = [], [], 0
    while i < len(argv):
        word = argv[i]
        if word.startswith("-") and word != "-":
            name, inline = word.split("=", 1) if word.startswith("--") and "=" in word else (word, "")
            if name not in PLAYBOOK_OPTIONS:
                command.problems.append("unknown option %s" % word)
                i += 1
                continue
            if PLAYBOOK_OPTIONS[name] and not inline:
                i += 1
                inline = argv[i] if i < len(argv) else ""
            options.append((name, inline))
        else:
            positional.append(word)
        i += 1
    return options, positional


def extra_vars(command, value, aliases):
    if value.startswith("@"):
        if not path_exists(value[1:], aliases):
            command.problems.append("-e %s: no such file" % value)
        return set()
    if value.lstrip().startswith("{"):
        try:
            return set(yaml.safe_load(value) or {})
        except yaml.YAMLError:
            command.problems.append("-e %s: not YAML" % value)
            return set()
    return {pair.split("=", 1)[0] for pair in shlex.split(value) if "=" in pair}


def inventory_of(options):
    inventories = [value for name, value in options if name in ("-i", "--inventory")]
    return inventories[-1] if inventories else DEFAULT_INVENTORY


def check_limit(command, options):
    inventory = inventory_of(options)
    known = inventory_names(inventory)
    for name, value in options:
        if name not in ("-l", "--limit"):
            continue
        for pattern in re.split(r"[:,]", value):
            pattern = pattern.lstrip("!&")
            if pattern and not any(c in pattern for c in "*?[~<") and pattern not in known:
                command.problems.append("--limit %s: not a host or group of %s" % (pattern, inventory))


def check_ansible_playbook(command, aliases):
    options, positional = parse_options(command, command.argv[1:])
    if not positional:
        command.problems.append("no playbook")
    for book in positional:
        if not playbook_path(book).exists():
            command.problems.append("no playbook %s" % book)
            continue
        known = playbook_variables(book)
        for name, value in options:
            if name in ("-e", "--extra-vars"):
                for variable in sorted(extra_vars(command, value, aliases)):
                    if variable not in known and not variable.startswith("ansible_"):
                        command.problems.append("-e %s: %s does not use that variable" % (variable, book))
            if name in ("-t", "--tags", "--skip-tags"):
                for tag in value.split(","):
                    if tag not in playbook_tags(book):
                        command.problems.append("%s %s: %s has no such tag" % (name, tag, book))
    check_limit(command, options)
    inventory = inventory_of(options)
    if inventory != DEFAULT_INVENTORY and not path_exists(inventory, aliases):
        command.problems.append("-i %s: no such inventory" % inventory)
    lab = inventory == DEFAULT_INVENTORY and not any(o[0] in ("--syntax-check", "--list-tasks") for o in options)
    command.kind = "lab" if lab else "own-lab" if inventory != DEFAULT_INVENTORY else "static"


def check_ansible(command, aliases):
    options, positional = parse_options(command, command.argv[1:])
    inventory = inventory_of(options)
    known = inventory_names(inventory)
    for pattern in positional[:1]:
        for part in re.split(r"[:,]", pattern):
            part = part.lstrip("!&")
            if part and not any(c in part for c in "*?[~<") and part not in known:
                command.problems.append("host pattern %s: not a host or group of %s" % (part, inventory))
    if len(positional) != 1:
        command.problems.append("want exactly one host pattern, got %s" % positional)
    module = next((value for name, value in options if name in ("-m", "--module-name")), "command")
    allowed = module_options(module)
    if allowed is not None and not allowed:
        command.problems.append("no module %s" % module)
    arguments = next((value for name, value in options if name in ("-a", "--args")), "")
    if allowed and "free_form" not in allowed:
        for pair in shlex.split(arguments):
            if "=" in pair and pair.split("=", 1)[0] not in allowed:
                command.problems.append("-a %s: %s has no such option" % (pair, module))
    if inventory != DEFAULT_INVENTORY and not path_exists(inventory, aliases):
        command.problems.append("-i %s: no such inventory" % inventory)
    command.kind = "lab" if inventory == DEFAULT_INVENTORY else "own-lab"


def check_ansible_doc(command, aliases):
    argv = command.argv[1:]
    plugin_type = "module"
    if "-t" in argv:
        plugin_type = argv[argv.index("-t") + 1]
        del argv[argv.index("-t") : argv.index("-t") + 2]
    for name in (a for a in argv if not a.startswith("-")):
        if "<" in name:
            continue  # roverlab.clouddesktop.<role>: any of them
        short = name.split(".")[-1]
        if plugin_type == "role":
            ok = (REPO / "roles" / short / "meta" / "argument_specs.yml").exists()
        else:
            ok = any((REPO / "plugins" / kind / (short + ".py")).exists() for kind in ("modules", "filter", "action"))
        if not ok:
            command.problems.append("ansible-doc: no %s %s" % (plugin_type, name))


def check_test_sh(command, aliases):
    stages = test_stages()
    argv, i = command.argv[1:], 0
    while i < len(argv):
        word = argv[i]
        if word in ("-j", "--jobs"):
            i += 1
        elif word in ("--list", "-h", "--help"):
            pass
        elif word.startswith("-"):
            command.problems.append("scripts/test.sh has no option %s" % word)
        elif not any(fnmatch.fnmatchcase(stage, word) for stage in stages):
            command.problems.append("scripts/test.sh: no stage matches %s" % word)
        i += 1


def check_lab_sh(command, aliases):
    argv = command.argv[1:]
    if not argv or argv[0] not in ("up", "down", "status") or argv[1:] not in ([], ["--keep-engine"]):
        command.problems.append("scripts/lab.sh takes up, down [--keep-engine] or status, not %s" % " ".join(argv))
    command.kind = "lab"


PROGRAM_CHECKS = {
    "ansible-playbook": check_ansible_playbook,
    "ansible": check_ansible,
    "ansible-doc": check_ansible_doc,
    "scripts/test.sh": check_test_sh,
    "scripts/lab.sh": check_lab_sh,
}


def check_program(command, state):
    program = command.argv[0]
    if program in BUILTINS or program.startswith("$"):
        return program
    if program == "sudo":
        command.problems.append("sudo: the controller's commands run as root (README), where sudo may not exist")
        command.argv = command.argv[1:]
        return check_program(command, state) if command.argv else program
    if "/" in program:
        if not path_exists(program, state["aliases"]):
            command.problems.append("no program %s in the checkout (after scripts/setup.sh)" % program)
        normal = program[2:] if program.startswith("./") else program
        return normal.split("/")[-1] if normal.startswith(".venv/bin/") else normal
    if (VENV_BIN / program).exists() and not debian_program(program):
        if not state["activated"]:
            command.problems.append(
                "%s is not on the PATH after setup: write .venv/bin/%s, or activate the venv first "
                "(. .venv/bin/activate)" % (program, program)
            )
        return program
    if program == "kubectl":
        command.problems.append(
            "kubectl is not installed by scripts/setup.sh: use `.venv/bin/ansible <server> -a 'k3s kubectl ...'`, "
            "or a kubeconfig with a kubectl you install (--kubeconfig)"
        )
        return program
    if not debian_program(program):
        command.problems.append("%s is not a program of a Debian 12 machine after scripts/setup.sh" % program)
    return program


def check(command, state):
    if command.problems or not command.argv:
        return
    if command.node:
        command.kind = "node"
        return
    program = check_program(command, state)
    if program in (".", "source") and command.argv[1:] and command.argv[1].endswith(".venv/bin/activate"):
        state["activated"] = True
    if program == "cd" and command.argv[1:]:
        target = command.argv[1]
        if target not in state["aliases"] and target not in state["clones"] and not path_exists(target, {}):
            command.problems.append("cd %s: no such directory" % target)
        return
    if program == "git" and command.argv[1:2] == ["clone"]:
        state["clones"].add(command.argv[-1])
        return
    if program == "cp" and len(command.argv) >= 3:
        sources, destination = [a for a in command.argv[1:-1] if not a.startswith("-")], command.argv[-1]
        for source in sources:
            if not path_exists(source, state["aliases"]):
                command.problems.append("cp: no %s" % source)
        if len(sources) == 1:
            state["aliases"][destination] = sources[0]
        return
    words = command.argv[1:] if "/" not in command.argv[0] or command.argv[0].startswith(".venv/") else command.argv
    for word in words:
        if looks_like_path(word) and not path_exists(word, state["aliases"]):
            command.problems.append("no such path %s" % word)
    if program.startswith("python") and "-m" in command.argv:
        module = command.argv[command.argv.index("-m") + 1]
        roots = [REPO / p for p in command.env.get("PYTHONPATH", "").split(":") if p] + [REPO]
        if not any((root / module).is_dir() or (root / (module + ".py")).exists() for root in roots):
            command.problems.append("python -m %s: no such module here" % module)
    if program in PROGRAM_CHECKS:
        PROGRAM_CHECKS[program](command, state["aliases"])


def checked_commands(path):
    state = {"activated": False, "aliases": {}, "clones": set()}
    commands = commands_of(path)
    for command in commands:
        check(command, state)
    return commands


if __name__ == "__main__":
    os.chdir(REPO)
    for doc in doc_files():
        for found in checked_commands(doc):
            mark = "FAIL" if found.problems else "ok  "
            print("%s %-7s %s" % (mark, found.kind, found.where()))
            for problem in found.problems:
                print("         - %s" % problem)
