"""Reads a Dockerfile the way `docker build` does, for the deploy tests.

Only what foxpool's deploy/Dockerfile uses: line continuations, comments,
stages (FROM ... AS name) and the instructions' arguments, with the exec
(JSON) form of ENTRYPOINT, CMD and HEALTHCHECK CMD decoded. Parser
directives (# syntax=...) are comments here.
"""

import json
import re
import shlex


class Instruction:
    def __init__(self, keyword, args, line):
        self.keyword = keyword  # upper case: FROM, RUN, ...
        self.args = args  # the rest of the logical line, continuations joined
        self.line = line  # where it starts (1-based)

    def __repr__(self):
        return f"{self.keyword} {self.args} (line {self.line})"


class Stage:
    def __init__(self, image, name):
        self.image = image
        self.name = name
        self.instructions = []

    def all(self, keyword):
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword):
        found = self.all(keyword)
        return found[-1] if found else None


def logical_lines(text):
    """(line number, text) of each instruction, continuations joined and
    comment lines (also those inside a continuation) dropped."""
    out = []
    current, start = None, 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and current is None):
            continue
        if current is None:
            current, start = "", number
        if stripped.endswith("\\"):
            current += stripped[:-1].rstrip() + " "
            continue
        current += stripped
        out.append((start, current.strip()))
        current = None
    if current:
        out.append((start, current.strip()))
    return out


def parse(text):
    """The Dockerfile's stages, in order."""
    stages = []
    for line, logical in logical_lines(text):
        keyword, _, args = logical.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(words[0], name))
            continue
        if not stages:
            if keyword == "ARG":
                continue
            raise ValueError(f"line {line}: {keyword} before FROM")
        stages[-1].instructions.append(Instruction(keyword, args, line))
    return stages


def exec_form(args):
    """The argv of an exec-form (JSON array) argument, or None for shell form."""
    if not args.startswith("["):
        return None
    value = json.loads(args)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"not a JSON array of strings: {args}")
    return value


def env(stage):
    """ENV of a stage as a dict (KEY=VALUE pairs, or the old KEY VALUE form)."""
    values = {}
    for ins in stage.all("ENV"):
        words = shlex.split(ins.args)
        if words and "=" not in words[0]:
            values[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            values[key] = value
    return values


def healthcheck(stage):
    """(options dict, argv) of the stage's HEALTHCHECK CMD, or None."""
    ins = stage.last("HEALTHCHECK")
    if ins is None or ins.args.upper() == "NONE":
        return None
    options = {}
    rest = ins.args
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        key, _, value = option[2:].partition("=")
        options[key] = value
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise ValueError(f"HEALTHCHECK without CMD: {ins.args}")
    argv = exec_form(command.strip())
    if argv is None:
        raise ValueError(f"HEALTHCHECK CMD is not in exec form: {command}")
    return options, argv


def duration_seconds(text):
    """Go/Docker duration ('10s', '1m30s', '500ms', '2h') in seconds."""
    total = 0.0
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    pos = 0
    for match in re.finditer(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * units[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"not a duration: {text!r}")
    return total


def run_commands(stage):
    """Every simple command of the stage's RUN lines, as argv lists (split at
    &&, ; and |)."""
    commands = []
    for ins in stage.all("RUN"):
        words = shlex.split(ins.args, posix=True)
        current = []
        for word in words:
            if word in ("&&", ";", "||", "|"):
                if current:
                    commands.append(current)
                current = []
            else:
                current.append(word)
        if current:
            commands.append(current)
    return commands


def apt_packages(stage):
    """Packages the stage's RUN lines pass to apt-get install."""
    packages = []
    for argv in run_commands(stage):
        # DEBIAN_FRONTEND=noninteractive apt-get install -y ...
        while argv and re.match(r"^[A-Z_]+=", argv[0]):
            argv = argv[1:]
        if argv[:2] == ["apt-get", "install"]:
            packages += [w for w in argv[2:] if not w.startswith("-")]
    return packages


def owned_dirs(stage):
    """Directories a RUN line creates for a user: `install -d -o USER ...` and
    useradd's --home-dir with --create-home. Returns {path: owner}."""
    dirs = {}
    for argv in run_commands(stage):
        if argv and argv[0] == "install" and "-d" in argv and "-o" in argv:
            owner = argv[argv.index("-o") + 1]
            for word in argv[1:]:
                if word.startswith("/"):
                    dirs[word] = owner
        if argv and argv[0] == "useradd" and "--create-home" in argv and "--home-dir" in argv:
            dirs[argv[argv.index("--home-dir") + 1]] = argv[-1]
    return dirs


def users(stage):
    """{name: uid} of the users a RUN line adds with a fixed --uid."""
    found = {}
    for argv in run_commands(stage):
        if argv and argv[0] == "useradd" and "--uid" in argv:
            found[argv[-1]] = int(argv[argv.index("--uid") + 1])
    return found


def copies_from(stage):
    """{destination: (stage name, source)} of COPY --from=... lines (one
    source each)."""
    out = {}
    for ins in stage.all("COPY"):
        words = ins.args.split()
        options = [w for w in words if w.startswith("--")]
        paths = [w for w in words if not w.startswith("--")]
        source_stage = next((o.split("=", 1)[1] for o in options if o.startswith("--from=")), None)
        if source_stage is None:
            continue
        if len(paths) != 2:
            raise ValueError(f"line {ins.line}: COPY --from with more than one source: {ins.args}")
        out[paths[1]] = (source_stage, paths[0])
    return out


def exposed_ports(stage):
    ports = []
    for ins in stage.all("EXPOSE"):
        for word in ins.args.split():
            ports.append(int(word.split("/")[0]))
    return ports


def flag_values(argv):
    """{--name: value} of the --name=value words (a later one wins, as with
    absl flags)."""
    flags = {}
    for word in argv:
        if word.startswith("--") and "=" in word:
            name, _, value = word[2:].partition("=")
            flags[name] = value
    return flags
