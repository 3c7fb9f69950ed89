"""The DVC project as files: dvc.yaml, dvc.lock and .dvc files, read without importing DVC."""

from __future__ import annotations

import json
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgit.errors import InputError, MlgitError
from mlgit.repo import git
from mlgit.system import files, process, yamlsource

_SKIP_DIRS = frozenset({".git", ".dvc", "node_modules", "__pycache__", ".venv", "venv"})


@dataclass(frozen=True)
class Out:
    """One output of a pipeline stage, or of a `.dvc` file."""

    path: str
    stage: str | None
    metrics: bool = False
    plots: bool = False
    cached: bool = True
    base: str = ""  # folder of the dvc.yaml or .dvc file that declares it ("" at the root)


@dataclass(frozen=True)
class DeclaredArtifact:
    """An entry of dvc.yaml's `artifacts:` section."""

    name: str
    path: str
    type: str | None
    base: str = ""  # folder of the dvc.yaml that declares it ("" at the root)

    @property
    def model_name(self) -> str:
        """GTO's name for it: `dir:name` when declared in a sub-folder's dvc.yaml."""
        return f"{self.base}:{self.name}" if self.base else self.name


@dataclass(frozen=True)
class Stage:
    """One pipeline stage of a dvc.yaml, with its paths relative to the repository root."""

    name: str  # as `dvc status` names it: `train`, or `sub/dvc.yaml:train`
    key: str  # its name inside its dvc.yaml
    lock: str  # the dvc.lock that records it
    deps: tuple[str, ...]  # declared deps and the params files it reads
    outs: tuple[str, ...]  # outs, metrics and plots


@dataclass(frozen=True)
class Remote:
    """A DVC remote as committed in .dvc/config."""

    name: str
    url: str


@dataclass
class Project:
    """What the DVC files of a repository declare (paths relative to the repository root).

    The one reading of DVC's files: callers ask this module, never parse dvc.yaml, dvc.lock or .dvc files
    themselves, so its internals can later ask DVC's own resolver (foreach/matrix, `${}` interpolation).
    """

    stages: list[Stage] = field(default_factory=list)
    outs: list[Out] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    artifacts: list[DeclaredArtifact] = field(default_factory=list)
    metrics_by_base: dict[str, list[str]] = field(default_factory=dict)
    params_by_base: dict[str, list[str]] = field(default_factory=dict)


def cache_dirs(root: Path) -> tuple[Path, ...]:
    """Where DVC's cache lives: .dvc/cache, and a `cache.dir` set in .dvc/config or .dvc/config.local."""
    import configparser

    found = [root / ".dvc" / "cache"]
    for name in ("config", "config.local"):
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string((root / ".dvc" / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_option("cache", "dir"):
            found.append(root / ".dvc" / os.path.expanduser(parser.get("cache", "dir").strip().strip("'\"")))
    return tuple(found)


def walk(root: Path, suffix: str) -> Iterator[str]:
    """Repository-relative paths of files named or ending with `suffix`, skipping tool folders."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        rel = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if name == suffix or (suffix.startswith(".") and name.endswith(suffix)):
                yield name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")


def _join(base: str, path: str) -> str:
    return posixpath.normpath(posixpath.join(base, path)) if base else posixpath.normpath(path)


def _entries(items: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    # DVC writes outs/metrics either as plain paths or as {path: {flags}}.
    for item in items or []:
        if isinstance(item, str):
            yield item, {}
        elif isinstance(item, dict):
            for path, flags in item.items():
                yield str(path), flags if isinstance(flags, dict) else {}


def read_stages(root: Path) -> list[Stage]:
    """The stages of every dvc.yaml in the work tree (no .dvc file is read)."""
    project = Project()
    for rel in walk(root, "dvc.yaml"):
        _add_dvc_yaml(project, rel, files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES))
    return project.stages


def read_project(root: Path) -> Project:
    """Parse every dvc.yaml and .dvc file in the work tree."""
    project = Project()
    for rel in walk(root, "dvc.yaml"):
        _add_dvc_yaml(project, rel, files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES))
    for rel in walk(root, ".dvc"):
        data = yamlsource.load(files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES), rel)
        base = posixpath.dirname(rel)
        for out in (data or {}).get("outs", []) if isinstance(data, dict) else []:
            if isinstance(out, dict) and "path" in out:
                project.outs.append(
                    Out(_join(base, str(out["path"])), None, cached=out.get("cache", True) is not False)
                )
    return project


def _add_dvc_yaml(project: Project, rel: str, raw: bytes) -> None:
    data = yamlsource.load(raw, rel)
    if not isinstance(data, dict):
        return
    base = posixpath.dirname(rel)
    metrics = project.metrics_by_base.setdefault(base, [])
    params = project.params_by_base.setdefault(base, [])
    for path, _flags in _entries(data.get("metrics")):
        metrics.append(_join(base, path))
    for path, _flags in _entries(data.get("params")):
        params.append(_join(base, path))
    for name, spec in (data.get("artifacts") or {}).items():
        if isinstance(spec, dict) and "path" in spec:
            artifact = DeclaredArtifact(str(name), _join(base, str(spec["path"])), spec.get("type"), base)
            project.artifacts.append(artifact)
    for sname, stage in (data.get("stages") or {}).items():
        if not isinstance(stage, dict):
            continue
        wdir = _join(base, str(stage.get("wdir", ".")))
        wdir = "" if wdir == "." else wdir
        project.stages.append(_stage(rel, str(sname), stage, wdir))
        for kind in ("outs", "metrics", "plots"):
            for path, flags in _entries(stage.get(kind)):
                out = Out(
                    _join(wdir, path),
                    str(sname),
                    metrics=kind == "metrics",
                    plots=kind == "plots",
                    cached=flags.get("cache", True) is not False,
                    base=base,
                )
                project.outs.append(out)
                if out.metrics:
                    metrics.append(out.path)
        for item in stage.get("params") or []:
            if isinstance(item, dict):
                params.extend(_join(wdir, str(f)) for f in item)
            else:
                params.append(_join(wdir, "params.yaml"))
    metrics[:] = list(dict.fromkeys(metrics))
    params[:] = list(dict.fromkeys(params))
    project.metrics[:] = list(dict.fromkeys([*project.metrics, *metrics]))
    project.params[:] = list(dict.fromkeys([*project.params, *params]))


def _stage(rel: str, key: str, stage: dict[str, Any], wdir: str) -> Stage:
    deps = [_join(wdir, path) for path, _flags in _entries(stage.get("deps"))]
    for item in stage.get("params") or []:
        deps.extend([_join(wdir, str(f)) for f in item] if isinstance(item, dict) else [_join(wdir, "params.yaml")])
    outs = [_join(wdir, path) for kind in ("outs", "metrics", "plots") for path, _flags in _entries(stage.get(kind))]
    folder = posixpath.dirname(rel)
    name = key if rel == "dvc.yaml" else f"{rel}:{key}"
    return Stage(name, key, posixpath.join(folder, "dvc.lock") if folder else "dvc.lock", tuple(deps), tuple(outs))


def hashes_at(root: Path, rev: str | None) -> dict[str, str]:
    """path -> DVC md5 of every output and dependency in dvc.lock and .dvc files at `rev` (None: work tree)."""
    if rev is None:
        blobs: dict[str, bytes | None] = {}
        for rel in [*walk(root, ".dvc"), *walk(root, "dvc.lock")]:
            try:
                blobs[rel] = files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES)
            except OSError:
                blobs[rel] = None
        where = ""
    else:
        names = git.tree_paths(root, rev)
        wanted = [n for n in names if n.endswith(".dvc") or posixpath.basename(n) == "dvc.lock"]
        blobs = git.show_files(root, rev, wanted)
        where = f" at {rev[:12]}"
    return hashes_in(blobs, where=where)


def hashes_in(files: Mapping[str, bytes | None], *, deps: bool = True, where: str = "") -> dict[str, str]:
    """path -> DVC md5 recorded in the given dvc.lock and .dvc files (path -> content; None: unreadable).

    `deps` False keeps outputs only: what DVC itself tracks, not the files it merely reads.
    """
    kinds = ("deps", "outs") if deps else ("outs",)
    found: dict[str, str] = {}
    for rel, raw in files.items():
        if raw is None:
            continue
        try:
            data = yamlsource.load(raw, f"{rel}{where}")
        except MlgitError:
            continue  # a broken lock is reported by DVC itself; lineage just lacks its hashes
        if not isinstance(data, dict):
            continue
        base = posixpath.dirname(rel)
        if rel.endswith(".dvc"):
            entries = [e for e in data.get("outs") or [] if isinstance(e, dict)]
            found.update({_join(base, str(e["path"])): str(e["md5"]) for e in entries if "path" in e and "md5" in e})
            continue
        for stage in (data.get("stages") or {}).values():
            if not isinstance(stage, dict):
                continue
            for kind in kinds:
                for e in stage.get(kind) or []:
                    if isinstance(e, dict) and "path" in e and "md5" in e:
                        found.setdefault(_join(base, str(e["path"])), str(e["md5"]))
    return found


def default_remote(root: Path) -> Remote | None:
    """The default remote from .dvc/config (config.local is not in git, so CI never sees it)."""
    try:
        text = (root / ".dvc" / "config").read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.match(r"^\[\s*'?(.*?)'?\s*\]$", line)
        if header:
            current = sections.setdefault(re.sub(r"\s+", " ", header[1]), {})
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key.strip().lower()] = value.strip()
    name = sections.get("core", {}).get("remote")
    if not name:
        return None
    url = sections.get(f'remote "{name}"', {}).get("url")
    return Remote(name, url) if url else None


def hash_for(path: str, hashes: dict[str, str]) -> dict[str, str] | None:
    """The DVC md5 of a path; a file inside a DVC-tracked folder gets the folder's (`via`)."""
    probe = posixpath.normpath(path)
    while probe and probe != ".":
        if probe in hashes:
            entry = {"md5": hashes[probe]}
            if probe != path:
                entry["via"] = probe
            return entry
        probe = posixpath.dirname(probe)
    return None


def refuse_special_files(root: Path) -> None:
    """Exit 2 when a stage names a device, pipe or socket: `dvc status` would hash `-> /dev/zero` forever."""
    for rel in dict.fromkeys(p for stage in read_stages(root) for p in (*stage.deps, *stage.outs)):
        if "${" in rel:
            continue  # interpolated: DVC resolves it, and the resolved files are checked by what reads them
        try:
            st = os.stat(root / rel)
        except (OSError, ValueError):
            continue  # absent (not pulled), or a name the file system cannot hold: not ours to judge
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise InputError(
                "not a regular file or directory (a device, pipe or socket); DVC would read it without end",
                file=rel,
                hint="replace it with the file the pipeline writes",
            )


def stale_stages(root: Path) -> dict[str, list[str]] | None:
    """Stages whose dvc.lock does not match the work tree (via `dvc status`); None if DVC cannot tell."""
    if not any(True for _ in walk(root, "dvc.yaml")):
        return {}
    refuse_special_files(root)
    res = process.run((process.tool("dvc"), "status", "--json"), cwd=root, check=False)
    if res.returncode != 0:
        return None
    try:
        data = json.loads(res.out or "{}")
    except json.JSONDecodeError:
        return None
    stale: dict[str, list[str]] = {}
    for stage, changes in data.items():
        reasons: list[str] = []
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict):
                for kind, detail in change.items():
                    if isinstance(detail, dict):
                        # A file that is merely absent (not pulled: CI release jobs, fresh clones) says nothing
                        # about whether dvc.lock matches the code; the artifact check reports a missing model.
                        reasons.extend(
                            f"{kind[len('changed ') :] if kind.startswith('changed ') else kind}: {p} {_status(s)}"
                            for p, s in detail.items()
                            if not (isinstance(s, str) and s in _ABSENT)
                        )
                    else:
                        reasons.append(f"{kind}: {detail}")
            else:
                reasons.append(str(change))
        if reasons or not changes:
            stale[stage] = reasons
    return stale


_ABSENT = frozenset({"deleted", "not in cache"})


def _status(detail: object) -> str:
    # `dvc status` gives a word per file, or for params a mapping of key -> word.
    if isinstance(detail, dict):
        return ", ".join(f"{k} {v}" for k, v in detail.items())
    return str(detail)


def init(root: Path) -> bool:
    """Make `root` a DVC project (`dvc init`) unless it is one; whether it ran."""
    if (root / ".dvc").is_dir():
        return False
    process.run((process.tool("dvc"), "init", "--quiet"), cwd=root)
    return True


def lock_line(root: Path, stage: Stage) -> int | None:
    """The line of `stage`'s entry in the dvc.lock that records it (None: no such file or entry)."""
    try:
        raw = files.read_small(root, stage.lock, limit=files.MAX_PIPELINE_BYTES)
    except (OSError, MlgitError):
        return None
    return yamlsource.line_of(raw, ["stages", stage.key])
