"""The doors as tests: processes start in one module, git and DVC argv are built in theirs, DVC's packages are
imported and its cache found only in the DVC adapter, files are written through the atomic writer, except where
an entry below says why not."""

from __future__ import annotations

import ast
import functools
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mlgit"

PROCESS_DOOR = "mlgit/system/process.py"
ATOMIC_DOOR = "mlgit/system/atomic.py"
ARGV_DOORS = {"git": "mlgit/repo/git.py", "dvc": "mlgit/repo/dvc.py"}

# (file, function) -> why it builds a git/dvc command line itself.
OWN_ARGV = {
    ("mlgit/cli/commands/demo.py", "git"): "the demo acts as a user in its own repository (init, commit, merge)",
    ("mlgit/cli/commands/demo.py", "dvc"): "the demo plays a user at a terminal: its dvc lines are the script shown",
    ("mlgit/cli/commands/demo.py", "run"): "the demo's closing `git tag --list` is a line shown to the user",
    ("mlgit/cli/commands/demo.py", "_merge_and_stages"): "shows the tags made, as a user types it",
}

# (file, function) -> why it starts a process without mlgit.system.process.
OWN_PROCESSES = {
    ("mlgit/package/runtime.py", "serve"): "the bundle's server pre-forks its workers; the runtime runs without mlgit",
}

# (file, function) -> why it writes a file without mlgit.system.atomic.
OWN_WRITES = {
    (ATOMIC_DOOR, "write_bytes"): "the door itself",
    ("mlgit/package/archive.py", "write"): "the archive can be gigabytes: streamed to a temp file, then renamed",
    ("mlgit/package/bundle.py", "build"): "moves a whole staged bundle folder into place (a folder, not a file)",
    ("mlgit/package/runtime.py", "__init__"): "the bundle's request log is appended line by line; runs without mlgit",
    ("mlgit/package/runtime.py", "_rotate"): "log rotation renames the request logs; the runtime runs without mlgit",
    ("mlgit/deploy/blessed.py", "_unpacked"): "an unpacked bundle folder is renamed into place, first one wins",
    ("mlgit/deploy/blessed.py", "python_for"): "a built virtualenv folder is renamed into place, first one wins",
    ("mlgit/deploy/front.py", "start"): "a backend's stderr is appended to a log file the process inherits",
    ("mlgit/deploy/front.py", "main"): "the front's own stdout becomes an appended log once it is detached",
    ("mlgit/deploy/local.py", "ensure_front"): "the detached front's stderr is appended to its log file",
    ("mlgit/deploy/state.py", "locked"): "the deploy lock is a file held open for flock, never written",
    ("mlgit/serve/evaluate.py", "__init__"): "the served bundle's stderr goes to a log file the process inherits",
    ("mlgit/cli/exit.py", "_guarded"): "stdout is pointed at /dev/null after a broken pipe; no file is written",
    ("mlgit/cli/commands/report.py", "_github_actions"): "GITHUB_STEP_SUMMARY is shared by every step: appended",
    ("mlgit/cli/commands/demo.py", "run"): "the demo copies the bundled example_repo folder into its new folder",
    ("mlgit/train/repro.py", "_isolated"): "source data folders are copied into a throwaway worktree",
}

_PROCESS_CALLS = re.compile(
    r"subprocess\.(run|call|check_call|check_output|Popen|getoutput|getstatusoutput)"
    r"|os\.(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork|forkpty)"
    r"|asyncio\.create_subprocess_\w+|pty\.spawn"
)
_MOVES = re.compile(r"os\.(replace|rename|renames)|shutil\.(copy|copy2|copyfile|copytree|move)")
_WRITE_MODE = re.compile(r"[rwaxbt+]*[wax+][rwaxbt+]*(:\w*)?")
_WRITE_FLAGS = {"O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC"}


def _imports(tree: ast.Module) -> dict[str, str]:
    """Local name -> what it names, `sp` -> `subprocess`, `run` -> `subprocess.run`."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                names[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                names[a.asname or a.name] = f"{node.module}.{a.name}"
    return names


def _qualified(func: ast.expr, names: dict[str, str]) -> str:
    """`os.replace`, `subprocess.run`, `mlgit.system.atomic.write_text`; `.attr` for a method on a value."""
    if isinstance(func, ast.Name):
        return names.get(func.id, func.id)
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id in names:
            return f"{names[func.value.id]}.{func.attr}"
        return f".{func.attr}"
    return ""


def _calls(tree: ast.Module) -> Iterator[tuple[str, ast.Call]]:
    """Every call with the name of the function it is in."""

    def visit(node: ast.AST, owner: str) -> Iterator[tuple[str, ast.Call]]:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
            if isinstance(child, ast.Call):
                yield name, child
            yield from visit(child, name)

    yield from visit(tree, "<module>")


def _owned(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    def visit(node: ast.AST, owner: str) -> Iterator[tuple[str, ast.AST]]:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
            yield name, child
            yield from visit(child, name)

    yield from visit(tree, "<module>")


def _tool(node: ast.expr) -> str | None:
    """The program an argv element names: "git", or `process.tool("dvc")`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Path(node.value).name
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name == "tool":
            return _tool(node.args[0])
    return None


def _mode(call: ast.Call, qual: str) -> str | None:
    # The mode of `open(path, "w")`, `path.open("a")`, `tarfile.open(name, "w:gz")` or any `mode=` keyword.
    given = [kw.value for kw in call.keywords if kw.arg == "mode"]
    given += call.args[1:2] if qual in {"open", "io.open", "os.fdopen"} or qual.endswith("tarfile.open") else []
    given += call.args[:1] if qual == ".open" else []
    for node in given:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
    return None


def process_starts(rel: str, source: str) -> list[str]:
    if rel == PROCESS_DOOR:
        return []
    tree = ast.parse(source)
    names = _imports(tree)
    return [
        f"{rel}:{call.lineno}: {ast.unparse(call.func)}(...) starts a process; use mlgit.system.process"
        for owner, call in _calls(tree)
        if _PROCESS_CALLS.fullmatch(_qualified(call.func, names)) and (rel, owner) not in OWN_PROCESSES
    ]


def argv_outside_doors(rel: str, source: str) -> list[str]:
    out = []
    for owner, node in _owned(ast.parse(source)):
        if isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            first = node.elts[0]
        elif isinstance(node, ast.Call) and node.args and _tool(node) is None:
            first = node.args[0]  # a variadic runner: `sh("git", "tag")`, not `tool("git")` itself
        else:
            continue
        program = _tool(first)
        if program in ARGV_DOORS and rel != ARGV_DOORS[program] and (rel, owner) not in OWN_ARGV:
            line = getattr(node, "lineno", 0)
            out.append(f"{rel}:{line}: a {program} command line built here; add a function to {ARGV_DOORS[program]}")
    return out


def _write_kind(call: ast.Call, qual: str) -> str | None:
    if qual.startswith("mlgit.system.atomic."):
        return None
    if qual in {".write_text", ".write_bytes"} or _MOVES.fullmatch(qual):
        return qual
    if qual in {".touch", ".symlink_to", ".hardlink_to"}:
        return qual
    if qual == "os.open" and len(call.args) > 1:
        flags = {n.attr for n in ast.walk(call.args[1]) if isinstance(n, ast.Attribute)}
        return "os.open for writing" if flags & _WRITE_FLAGS else None
    if qual in {"open", "io.open", "os.fdopen", ".open"} or qual.endswith("tarfile.open"):
        mode = _mode(call, qual)
        return f'open(..., "{mode}")' if mode is not None and _WRITE_MODE.fullmatch(mode) else None
    return None


def writes_outside_door(rel: str, source: str) -> list[str]:
    tree = ast.parse(source)
    names = _imports(tree)
    out = []
    for owner, call in _calls(tree):
        kind = _write_kind(call, _qualified(call.func, names))
        if kind is not None and (rel, owner) not in OWN_WRITES:
            out.append(f"{rel}:{call.lineno}: {kind} in {owner}; write through mlgit.system.atomic")
    return out


def _is_dvc_package(module: str) -> bool:
    top = module.split(".")[0]
    return top == "dvc" or top.startswith("dvc_")


def dvc_imports(rel: str, source: str) -> list[str]:
    """`import dvc...`, `from dvc_data... import` outside the adapter: DVC's API is asked in one place."""
    if rel == ARGV_DOORS["dvc"]:
        return []
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        else:
            continue
        out += [
            f"{rel}:{node.lineno}: imports {m}; ask the DVC adapter {ARGV_DOORS['dvc']}"
            for m in modules
            if _is_dvc_package(m)
        ]
    return out


_CACHE_TEXT = re.compile(r"\.dvc[/\\]cache|files/md5")


def _path_parts(node: ast.AST) -> list[str] | None:
    """The text pieces of `a / ".dvc" / "cache"` or `os.path.join(a, ".dvc", "cache")`, in order."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        left = _path_parts(node.left) or []
        right = node.right.value if isinstance(node.right, ast.Constant) else None
        return [*left, right if isinstance(right, str) else ""]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
        return [a.value if isinstance(a, ast.Constant) and isinstance(a.value, str) else "" for a in node.args]
    return None


def dvc_cache_paths(rel: str, source: str) -> list[str]:
    """A path into DVC's cache built by hand outside the adapter: it would miss `cache.dir` and DVC's layouts."""
    if rel == ARGV_DOORS["dvc"]:
        return []
    tree = ast.parse(source)
    docs = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            hand = bool(_CACHE_TEXT.search(node.value))
        elif (parts := _path_parts(node)) is not None:
            hand = any(a == ".dvc" and b == "cache" for a, b in itertools.pairwise(parts))
        else:
            continue
        if hand:
            line = getattr(node, "lineno", 0)
            out.append(f"{rel}:{line}: a path into DVC's cache built here; ask the DVC adapter {ARGV_DOORS['dvc']}")
    return sorted(set(out))


@functools.cache
def _sources() -> tuple[tuple[str, str], ...]:
    return tuple((str(p.relative_to(ROOT)), p.read_text()) for p in sorted(PACKAGE.rglob("*.py")))


def _modules() -> Iterator[tuple[str, str]]:
    yield from _sources()


def test_every_process_starts_through_the_process_door() -> None:
    found = [f for rel, src in _modules() for f in process_starts(rel, src)]
    assert not found, "\n".join(found)


def test_git_and_dvc_command_lines_are_built_only_in_their_modules() -> None:
    found = [f for rel, src in _modules() for f in argv_outside_doors(rel, src)]
    assert not found, "\n".join(found)


def test_dvc_is_imported_and_its_cache_found_only_in_the_adapter() -> None:
    found = [f for rel, src in _modules() for f in (*dvc_imports(rel, src), *dvc_cache_paths(rel, src))]
    assert not found, "\n".join(found)


def test_the_dvc_scanners_see_each_form() -> None:
    src = """
import dvc.api
from dvc.repo import Repo
import dvc_data.index as di
from dvc_objects.fs import localfs
x = root / ".dvc/cache/files/md5" / md5[:2]
y = root / ".dvc" / "cache" / md5
z = os.path.join(root, ".dvc", "cache")
import dvcx
from mlgit.repo import dvc
w = root / ".dvc" / "config"
def f() -> None:
    '''a docstring may name .dvc/cache'''
"""
    rel = "mlgit/package/example.py"
    assert [f.split(":")[1] for f in dvc_imports(rel, src)] == ["2", "3", "4", "5"]
    assert sorted(int(f.split(":")[1]) for f in dvc_cache_paths(rel, src)) == [6, 7, 8]
    assert dvc_imports(ARGV_DOORS["dvc"], src) == dvc_cache_paths(ARGV_DOORS["dvc"], src) == []


def test_every_file_write_goes_through_the_atomic_writer() -> None:
    found = [f for rel, src in _modules() for f in writes_outside_door(rel, src)]
    assert not found, "\n".join(found)


def test_every_exception_names_a_function_that_still_does_what_it_says() -> None:
    # A stale entry (renamed function, fixed write) would silently excuse the next offender in its place.
    found = {(rel, owner) for rel, src in _modules() for owner, _ in _calls(ast.parse(src))}
    assert set(OWN_PROCESSES) - found == set()
    assert set(OWN_ARGV) - found == set()
    assert set(OWN_WRITES) - found == set()
    for rel, owner in OWN_WRITES:
        if rel == ATOMIC_DOOR:
            continue
        tree = ast.parse((ROOT / rel).read_text())
        names = _imports(tree)
        kinds = [_write_kind(c, _qualified(c.func, names)) for o, c in _calls(tree) if o == owner]
        assert any(kinds), f"{rel}: {owner} no longer writes; drop it from OWN_WRITES"


def test_the_scanners_see_each_form() -> None:
    # The scans are only as good as what they recognise: each form once, in a module that is no door.
    src = """
import os, shutil, subprocess as sp
from subprocess import Popen
from pathlib import Path
from mlgit.system import atomic, process

def f(p: Path) -> None:
    sp.run(["ls"])
    Popen(["ls"])
    os.system("ls")
    os.execvp("ls", ["ls"])
    process.run(["git", "status"])
    process.run((process.tool("dvc"), "push"))
    sh("git", "tag")
    p.write_text("x")
    p.write_bytes(b"x")
    open(p, "w")
    p.open("ab")
    open(p, mode="x")
    os.replace(p, p)
    os.rename(p, p)
    shutil.copyfile(p, p)
    shutil.move(p, p)
    os.open(p, os.O_WRONLY | os.O_CREAT)
    atomic.write_text(p, "x")
    open(p)
    p.open("rb")
    os.open(p, os.O_RDONLY)
"""
    rel = "mlgit/data/example.py"
    assert [f.split(":")[1] for f in process_starts(rel, src)] == ["8", "9", "10", "11"]
    assert [f.split(":")[1] for f in argv_outside_doors(rel, src)] == ["12", "13", "14"]
    assert [f.split(":")[1] for f in writes_outside_door(rel, src)] == [str(n) for n in range(15, 25)]
    assert argv_outside_doors("mlgit/repo/git.py", 'run(["git", "status"])\n') == []
