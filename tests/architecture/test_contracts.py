"""The code's shape as tests: short functions, reasons for every `type: ignore`, and the layer contract."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mlgit"
MAX_LINES = 60
# argparse declarations are tables, read row by row, not logic read at once
TABLES = {("mlgit/cli/main.py", "_parser")}


def _functions() -> list[tuple[str, str, int]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno is not None:
                out.append((rel, node.name, node.end_lineno - node.lineno + 1))
    return out


def test_no_function_is_longer_than_sixty_lines() -> None:
    long = [
        f"{rel}: {name} ({n} lines)" for rel, name, n in _functions() if n > MAX_LINES and (rel, name) not in TABLES
    ]
    assert long == []


def test_the_argument_tables_are_the_only_exception() -> None:
    # An exception that no longer exists (renamed, split) must leave the list too.
    names = {(rel, name) for rel, name, _n in _functions()}
    assert TABLES <= names


def test_every_type_ignore_names_its_code_and_says_why() -> None:
    # `# type: ignore[code]  # why`: the code keeps it from silencing a second, unrelated error on the line.
    bare = []
    dirs = ("mlgit", "tests", "testing", "benchmarks")
    for path in sorted(p for d in dirs for p in (ROOT / d).rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            m = re.search(r"#\s*type:\s*ignore(\[[^\]]+\])?(.*)$", line)
            if m and (m.group(1) is None or not re.search(r"#\s*\S", m.group(2))):
                bare.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not bare, "\n".join(bare)


def test_the_layer_contract_holds() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    res = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 kept, 0 broken" in res.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    # The contract is real: a data-layer module importing the CLI is refused.
    cfg = (ROOT / "pyproject.toml").read_text()
    section = cfg[cfg.index("\n[tool.importlinter]\n") :]
    (tmp_path / "pyproject.toml").write_text(section)
    pkg = tmp_path / "mlgit"
    subprocess.run(["cp", "-r", str(PACKAGE), str(pkg)], check=True)
    (pkg / "data" / "upward.py").write_text("from mlgit.cli import main\n")
    lint = Path(sys.executable).parent / "lint-imports"
    res = subprocess.run(
        [str(lint), "--config", "pyproject.toml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert res.returncode != 0
    assert "mlgit.data.upward -> mlgit.cli" in res.stdout


# The one place a code is looked up from text: a finding read back from a cache or a JSON file.
CODE_LOOKUPS = {("mlgit/results/finding.py", "__post_init__")}


def _calls_with_owner(path: Path) -> list[tuple[str, ast.Call]]:
    """Every call in a module with the name of the function (or module) it is in."""
    out: list[tuple[str, ast.Call]] = []

    def visit(node: ast.AST, owner: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else owner
            if isinstance(child, ast.Call):
                out.append((name, child))
            visit(child, name)

    visit(ast.parse(path.read_text()), "<module>")
    return out


def _is_text(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def test_no_finding_code_is_assembled_at_runtime() -> None:
    # `Code(f"schema.{kind}")` compiles whatever the kind is and fails only when a user hits it; a code is a
    # member of the catalogue, named where it is used (an explicit map where a kind chooses it).
    built = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for owner, call in _calls_with_owner(path):
            func = call.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name == "Code" and (rel, owner) not in CODE_LOOKUPS and not all(_is_text(a) for a in call.args):
                built.append(f"{rel}:{call.lineno}: Code({ast.unparse(call.args[0]) if call.args else ''})")
            for kw in call.keywords:
                if kw.arg == "code" and isinstance(kw.value, (ast.JoinedStr, ast.BinOp)):
                    built.append(f"{rel}:{call.lineno}: code={ast.unparse(kw.value)}")
    assert built == []


def test_the_code_lookups_exist() -> None:
    names = {(rel, name) for rel, name, _n in _functions()}
    assert CODE_LOOKUPS <= names


def test_no_test_patches_sys_modules() -> None:
    # Swapping modules in `sys.modules` tests an interpreter no user runs; a missing package is a real
    # environment without it (testing/envs.py), a replaced part is passed in as a value.
    patch = re.compile(
        r"setitem\(\s*sys\.modules|sys\.modules\[[^\]]*\]\s*=|del\s+sys\.modules|sys\.modules\.(pop|update|setdefault|clear)"
        r"|patch\.dict\(\s*[\"']?sys\.modules"
    )
    found = []
    for path in sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "testing").rglob("*.py")]):
        if path == Path(__file__):
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if patch.search(line):
                found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert found == []


# The serving runtime is copied into every bundle and runs without mlgit: it cannot import the serializer.
OWN_JSON = {"mlgit/package/runtime.py"}
# `init` quotes a YAML scalar as JSON (a subset of YAML) in the mlgit.yaml it writes: not a --json document.
QUOTING = {"mlgit/cli/commands/init.py"}


def test_results_are_turned_into_json_by_the_one_serializer() -> None:
    # A hand-written `as_dict` (or a command's own dict-building function) is a second serializer: its field
    # names drift from the type's. Types declare their JSON shape for `mlgit.results.serialize` instead.
    own = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if rel in OWN_JSON or rel == "mlgit/results/serialize.py":
            continue
        text = path.read_text()
        own += [f"{rel}: def as_dict" for _ in re.finditer(r"def as_dict\(", text)]
        if rel.startswith("mlgit/cli/commands/") and rel not in QUOTING:
            own += [f"{rel}: {m.group(0)}" for m in re.finditer(r"(json|jsonlib)\.dumps\(", text)]
            own += [f"{rel}: {m.group(1)}" for m in re.finditer(r"def (\w+)\([^)]*\)\s*->\s*dict\[str, Any\]", text)]
    assert own == []


def _is_dict(node: ast.AST) -> bool:
    if isinstance(node, (ast.Dict, ast.DictComp)):
        return True
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict"


# The demo's request to `mlgit serve` is a row of the golden input in the V2 inference protocol (a foreign wire
# format read from a JSON file), not a document mlgit defines.
WIRE_PAYLOADS = {("mlgit/cli/commands/demo.py", "_serve_one_prediction")}


def _dict_documents(tree: ast.AST, rel: str = "") -> list[int]:
    """Lines where a dict (a display, a comprehension, `dict(...)`, or a name bound to one in the same function)
    is handed to `dumps`."""
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) or (rel, fn.name) in WIRE_PAYLOADS:
            continue
        bound = {
            t.id
            for node in ast.walk(fn)
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _is_dict(node.value)
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(t, ast.Name)
        }
        for call in ast.walk(fn):
            func = call.func if isinstance(call, ast.Call) else None
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name != "dumps" or not isinstance(call, ast.Call):
                continue
            for arg in call.args:
                if any(_is_dict(n) or (isinstance(n, ast.Name) and n.id in bound) for n in ast.walk(arg)):
                    found.append(call.lineno)
    return sorted(set(found))


def test_no_command_hands_a_dict_to_the_serializer() -> None:
    # A `--json` document built as a dict in a command has no type: its keys are spelled in one place and
    # read in another. Each is a frozen dataclass of the stage that owns the data, serialized as it is.
    found = []
    for path in sorted((PACKAGE / "cli" / "commands").glob("*.py")):
        rel = str(path.relative_to(ROOT))
        found += [f"{rel}:{n}" for n in _dict_documents(ast.parse(path.read_text()), rel)]
    assert found == []


def test_the_dict_document_scan_sees_every_form() -> None:
    # The scan above is only as good as what it recognises: a display, dict(), a name bound to one, a branch.
    src = """
def a(x):
    print(serialize.dumps({"k": x}))
def b(x):
    doc = {"k": x}
    print(serialize.dumps(doc))
def c(x):
    print(json.dumps(dict(k=x)))
def d(docs):
    print(serialize.dumps(docs[0] if len(docs) == 1 else {"models": docs}))
def e(x):
    print(serialize.dumps(Typed(x)))
"""
    assert _dict_documents(ast.parse(src)) == [3, 6, 8, 10]


def test_the_wire_payloads_exist() -> None:
    names = {(rel, name) for rel, name, _n in _functions()}
    assert WIRE_PAYLOADS <= names


def test_no_two_classes_share_a_name() -> None:
    # Two `Outcome`s (or `Plan`s, `Scan`s) read alike at every use and differ in what they hold; each class
    # has a noun of its own, so a name in a signature says which one it is.
    where: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                where.setdefault(node.name, []).append(f"{rel}:{node.lineno}")
    assert {name: places for name, places in where.items() if len(places) > 1} == {}
