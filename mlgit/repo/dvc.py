"""The one DVC adapter: pipelines as DVC resolves them, dvc.lock and .dvc hashes, remotes, `dvc status`.

dvc.yaml is resolved by DVC itself (templating, foreach/matrix, sub-projects), imported lazily and cached
by content; dvc.lock and .dvc files, which hold resolved paths and hashes only, are read directly."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgit import __version__
from mlgit.errors import InputError, MlgitError
from mlgit.repo import cache, git
from mlgit.system import files, jsoncache, process, statedir, yamlsource

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


# Remote storage types whose DVC support is a separate package (http, https and local paths are built in).
_PLUGINS = {
    "s3": "dvc-s3",
    "gs": "dvc-gs",
    "gcs": "dvc-gs",
    "azure": "dvc-azure",
    "ssh": "dvc-ssh",
    "gdrive": "dvc-gdrive",
    "oss": "dvc-oss",
    "hdfs": "dvc-hdfs",
    "webhdfs": "dvc-webhdfs",
    "webdav": "dvc-webdav",
    "webdavs": "dvc-webdav",
}


@dataclass(frozen=True)
class Remote:
    """A DVC remote as committed in .dvc/config."""

    name: str
    url: str

    @property
    def plugin(self) -> str | None:
        """The pip package DVC needs for this kind of remote, if any."""
        scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else ""
        return _PLUGINS.get(scheme)


@dataclass
class Project:
    """What the DVC projects of a repository declare (paths relative to the git root), as DVC resolves it.

    The one reading of DVC's files: callers ask this module, never parse dvc.yaml, dvc.lock or .dvc files.
    """

    stages: list[Stage] = field(default_factory=list)
    outs: list[Out] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    artifacts: list[DeclaredArtifact] = field(default_factory=list)
    metrics_by_base: dict[str, list[str]] = field(default_factory=dict)
    params_by_base: dict[str, list[str]] = field(default_factory=dict)
    roots: list[str] = field(default_factory=list)  # DVC project roots ("" = the git root), from project_roots


def cache_dirs(root: Path) -> tuple[Path, ...]:
    """Where DVC's cache lives: .dvc/cache, and a `cache.dir` set in .dvc/config or .dvc/config.local."""
    found = [root / ".dvc" / "cache"]
    # Both files' settings are places a cache may be (a clone may have moved it locally since): each is looked in.
    for name in _CONFIG_FILES:
        where = read_config(root, name).get("cache", {}).get("dir")
        if where:
            found.append(root / ".dvc" / os.path.expanduser(where))
    return tuple(found)


_CONFIG_FILES = ("config", "config.local")  # in DVC's order of precedence: config.local wins


def read_config(folder: Path, *names: str) -> dict[str, dict[str, str]]:
    """The DVC project in `folder`'s config files `names` (default: `config` then `config.local`, the later
    winning key by key as in DVC), as section -> key -> value; an unreadable file counts as empty.

    DVC writes them as INI through configobj: a remote's section is `['remote "name"']`, read as `remote "name"`,
    and a value may be quoted.
    """
    import configparser

    merged: dict[str, dict[str, str]] = {}
    for name in names or _CONFIG_FILES:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string((folder / ".dvc" / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        for section in parser.sections():
            key = re.sub(r"\s+", " ", section.strip().strip("'").strip())
            merged.setdefault(key, {}).update((k, v.strip().strip("'\"")) for k, v in parser.items(section))
    return merged


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


def project_roots(root: Path) -> list[str]:
    """Folders (relative to the git root, "" for the root) holding a DVC project (`.dvc/`), outermost first.

    A sub-project (`dvc init --subdir`) is its own DVC project: DVC run at the git root does not see it.
    """
    found: list[str] = []
    for dirpath, dirnames, _files in os.walk(root):
        if ".dvc" in dirnames and os.path.isdir(os.path.join(dirpath, ".dvc")):
            rel = os.path.relpath(dirpath, root)
            found.append("" if rel == "." else rel.replace(os.sep, "/"))
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
    return found


def project_of(roots: list[str], path: str) -> str:
    """The innermost DVC project root holding `path` ("" when none but the git root)."""
    best = ""
    for r in roots:
        if r and (path == r or path.startswith(f"{r}/")) and len(r) > len(best):
            best = r
    return best


def read_stages(root: Path) -> list[Stage]:
    """The stages of every dvc.yaml in the work tree, as DVC resolves them (templating, foreach, matrix)."""
    return read_project(root).stages


def read_project(root: Path) -> Project:
    """Every DVC project of the work tree as DVC's own resolver sees it, cached by the content of its files.

    DVC (`dvc.repo.Repo(...).index`) resolves `vars`, `${}` interpolation and `foreach`/`matrix`; each
    sub-project (`dvc init --subdir`) is opened in its own root. Resolving costs DVC's import and a parse
    (~0.5 s); a warm call reads one small JSON file keyed by the bytes of every file the answer depends on.
    """
    roots = project_roots(root)
    key, inputs = _content_key(root, roots)
    state = _state_dir(root)
    entry = None if state is None else state / f"project-{key}.json"
    cached = jsoncache.get(entry)
    if isinstance(cached, dict):
        try:
            return _project_from(cached)
        except (KeyError, TypeError):
            pass  # an entry from an older layout: resolve again
    project = Project(roots=list(roots))
    if not inputs:
        return project
    for base in roots or [""]:
        _resolve_into(project, root, base, initialized=bool(roots))
    _dedupe(project)
    jsoncache.put(entry, dataclasses.asdict(project))
    return project


def _state_dir(root: Path) -> Path | None:
    found = statedir.path(root)
    return None if found is None else found / "dvc"


def _content_key(root: Path, roots: list[str]) -> tuple[str, list[str]]:
    """A digest of what DVC's answer depends on: dvc.yaml, dvc.lock, .dvc and .dvcignore files, params files
    and the files named in `vars:`, plus where the projects are. Also the dvc.yaml/.dvc files found."""
    h = hashlib.sha256(f"{__version__}\0{roots}".encode())
    found = [*walk(root, "dvc.yaml"), *walk(root, ".dvc")]
    extra = [*walk(root, "dvc.lock"), *walk(root, ".dvcignore")]
    for rel in found:
        if rel.endswith("dvc.yaml"):
            extra += [_join(posixpath.dirname(rel), name) for name in _vars_files(root, rel)]
    for rel in [*found, *dict.fromkeys(extra)]:
        h.update(rel.encode() + b"\0")
        try:
            h.update(files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES))
        except (OSError, MlgitError):
            h.update(b"\1")
        h.update(b"\0")
    return h.hexdigest()[:40], found


def _vars_files(root: Path, rel: str) -> list[str]:
    # Only to key the cache: which files DVC's resolver may read (`vars:` entries and the default params.yaml).
    names = ["params.yaml"]
    try:
        data = _load(root, files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES), rel)
    except (OSError, MlgitError):
        return names
    if isinstance(data, dict):
        for item in data.get("vars") or [] if isinstance(data.get("vars"), list) else []:
            if isinstance(item, str):
                names.append(item.split(":", 1)[0])
        for item in _entries(data.get("params")):
            names.append(item[0])
    return names


def _project_from(plain: dict[str, Any]) -> Project:
    return Project(
        stages=[Stage(**{**s, "deps": tuple(s["deps"]), "outs": tuple(s["outs"])}) for s in plain["stages"]],
        outs=[Out(**o) for o in plain["outs"]],
        metrics=list(plain["metrics"]),
        params=list(plain["params"]),
        artifacts=[DeclaredArtifact(**a) for a in plain["artifacts"]],
        metrics_by_base={k: list(v) for k, v in plain["metrics_by_base"].items()},
        params_by_base={k: list(v) for k, v in plain["params_by_base"].items()},
        roots=list(plain["roots"]),
    )


def _resolve_into(project: Project, root: Path, base: str, *, initialized: bool) -> None:
    """Add one DVC project's stages, outs, metrics, params and artifacts, resolved by DVC itself."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    where = base or "."
    try:
        with Repo(str(root / base) if base else str(root), uninitialized=not initialized) as repo:
            index = repo.index
            # DVC keeps the top-level sections per dvc.yaml in these attributes (what `dvc metrics show` reads).
            for dvcfile, items in index._metrics.items():
                folder = _rel(root, os.path.dirname(dvcfile))
                project.metrics_by_base.setdefault(folder, []).extend(_join(folder, str(m)) for m in items)
            for dvcfile, items in index._params.items():
                folder = _rel(root, os.path.dirname(dvcfile))
                project.params_by_base.setdefault(folder, []).extend(_join(folder, str(m)) for m in items)
            for dvcfile, arts in index._artifacts.items():
                folder = _rel(root, os.path.dirname(dvcfile))
                for name, spec in arts.items():
                    # An artifact stored outside the repository (`s3://...`) has nothing here to check or record.
                    if isinstance(spec, dict) and "path" in spec and "://" not in str(spec["path"]):
                        path = _join(folder, str(spec["path"]))
                        project.artifacts.append(DeclaredArtifact(str(name), path, spec.get("type"), folder))
            for stage in index.stages:
                _add_stage(project, root, stage)
    except DvcException as exc:
        cause = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise InputError(
            f"DVC cannot read the pipeline: {str(exc).replace(str(root) + os.sep, '')}{cause}",
            file=f"{where}/dvc.yaml" if base else "dvc.yaml",
            hint=f"run 'dvc stage list' in {where} to see what DVC reports, and fix the file it names",
        ) from None


def _rel(root: Path, path: str) -> str:
    rel = os.path.relpath(path, root).replace(os.sep, "/")
    return "" if rel == "." else rel


def _add_stage(project: Project, root: Path, stage: Any) -> None:
    from dvc.dependency.param import ParamsDependency
    from dvc.stage import PipelineStage

    dvcfile = _rel(root, stage.path)
    folder = posixpath.dirname(dvcfile)
    outs = [(o, _rel(root, o.fs_path)) for o in stage.outs if getattr(o, "fs_path", None) and o.is_in_repo]
    if not isinstance(stage, PipelineStage):  # a .dvc file: data DVC tracks, no pipeline
        project.outs.extend(Out(path, None, cached=o.use_cache, base=folder) for o, path in outs)
        return
    metrics = project.metrics_by_base.setdefault(folder, [])
    params = project.params_by_base.setdefault(folder, [])
    deps: list[str] = []
    for d in stage.deps:
        if not d.is_in_repo or getattr(d, "def_repo", None):
            continue  # a URL, a path outside the repository, an import from another repository
        path = _rel(root, d.fs_path)
        if path.startswith("../"):
            continue
        deps.append(path)
        if isinstance(d, ParamsDependency):
            params.append(path)
    for o, path in outs:
        out = Out(path, stage.name, metrics=bool(o.metric), plots=bool(o.plot), cached=o.use_cache, base=folder)
        project.outs.append(out)
        if out.metrics:
            metrics.append(path)
    name = stage.name if dvcfile == "dvc.yaml" else f"{dvcfile}:{stage.name}"
    lock = posixpath.join(folder, "dvc.lock") if folder else "dvc.lock"
    project.stages.append(Stage(name, stage.name, lock, tuple(dict.fromkeys(deps)), tuple(p for _o, p in outs)))


def _dedupe(project: Project) -> None:
    for table in (project.metrics_by_base, project.params_by_base):
        for k, v in table.items():
            table[k] = list(dict.fromkeys(v))
    project.metrics = list(dict.fromkeys(p for v in project.metrics_by_base.values() for p in v))
    project.params = list(dict.fromkeys(p for v in project.params_by_base.values() for p in v))


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
    return hashes_in(blobs, where=where, root=root)


def _load(root: Path | None, raw: bytes, rel: str) -> Any:
    """A DVC file parsed, read back from a JSON cache by content when possible: a warm check imports no YAML."""
    entry = None
    state = statedir.path(root) if root is not None else None
    if state is not None:
        digest = hashlib.sha256(b"dvc-yaml/1\0" + raw).hexdigest()[:40]
        entry = state / "values" / f"dvc-{digest}.json"
        cached = jsoncache.get(entry)
        if isinstance(cached, dict) and "data" in cached:
            return cached["data"]
    data = yamlsource.load(raw, rel)
    try:
        same = json.loads(json.dumps(data)) == data  # dates or non-text keys would not come back equal
    except (TypeError, ValueError):
        same = False
    if same:
        jsoncache.put(entry, {"data": data})
    return data


def hashes_in(
    files: Mapping[str, bytes | None], *, deps: bool = True, where: str = "", root: Path | None = None
) -> dict[str, str]:
    """path -> DVC md5 recorded in the given dvc.lock and .dvc files (path -> content; None: unreadable).

    `deps` False keeps outputs only: what DVC itself tracks, not the files it merely reads.
    """
    kinds = ("deps", "outs") if deps else ("outs",)
    found: dict[str, str] = {}
    for rel, raw in files.items():
        if raw is None:
            continue
        try:
            data = _load(root, raw, f"{rel}{where}")
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
    sections = read_config(root, "config")
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


def stale_stages(root: Path, *, use_cache: bool = True) -> dict[str, list[str]] | None:
    """Stages whose dvc.lock does not match the work tree (`dvc status` in each DVC project); None if DVC cannot tell.

    Names are as `read_stages` gives them (`train`, `sub/dvc.yaml:train`), whichever project holds the stage.
    The answer is cached by the content of every file `dvc status` compares (`_status_key`); `use_cache` False
    (promote, before it writes a release tag) always asks DVC.
    """
    if not any(True for _ in walk(root, "dvc.yaml")):
        return {}
    refuse_special_files(root)
    digest = _status_key(root) if use_cache and cache.enabled() else None
    if digest is not None:
        hit = cache.load(root, _STATUS_CACHE, digest)
        if hit is not None and isinstance(hit.get("stale"), dict):
            return {str(k): [str(r) for r in v] for k, v in hit["stale"].items()}
    stale: dict[str, list[str]] = {}
    for base in project_roots(root) or [""]:
        found = _status_in(root / base if base else root)
        if found is None:
            return None
        for name, reasons in found.items():
            stale[_address(base, name)] = reasons
    if digest is not None:
        cache.store(root, _STATUS_CACHE, digest, {"stale": stale})
    return stale


_STATUS_CACHE = "pipeline:dvc-status"
# What makes `dvc status` look beyond the work tree (imports, external deps) or resolve paths mlgit does not
# (templating): then the answer is never cached.
_UNCACHEABLE = re.compile(rb"\$\{|^\s*(foreach|matrix|repo|url)\s*:", re.MULTILINE)


def _status_key(root: Path) -> str | None:
    """A digest of everything `dvc status` reads: DVC's files, every dep and out, DVC and Python; None: ask DVC."""
    pipelines = [*walk(root, "dvc.yaml"), *walk(root, "dvc.lock")]
    tracked = list(walk(root, ".dvc"))
    own: dict[str, bytes | None] = {}
    for rel in [*pipelines, *tracked]:
        try:
            own[rel] = files.read_small(root, rel, limit=files.MAX_PIPELINE_BYTES)
        except (OSError, MlgitError):
            return None
    if any(_UNCACHEABLE.search(raw) for raw in own.values() if raw is not None):
        return None
    if any(b"deps:" in (own[rel] or b"") for rel in tracked):
        return None  # an import (`dvc import`, `import-url`): its status depends on the source
    try:
        paths = {p for stage in read_stages(root) for p in (*stage.deps, *stage.outs)}
    except MlgitError:
        return None
    if any("://" in p or p.startswith(("/", "..")) for p in paths):
        return None  # an external dependency or output
    paths.update(hashes_in(own, root=root))
    for base in project_roots(root):
        paths.update(_join(base, f".dvc/{name}") for name in ("config", "config.local"))
    dvc_tool = process.tool("dvc")
    try:
        st = os.stat(dvc_tool)
        content = cache.fingerprint(root, [*own, *paths])
    except (OSError, cache.Uncacheable):
        return None
    return cache.key(_STATUS_CACHE, dvc_tool, f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}", cache.environment(), content)


def _address(base: str, name: str) -> str:
    # `dvc status` in a project names a stage of its own dvc.yaml `train`, of another `sub/dvc.yaml:train`,
    # and a .dvc file by its path; all relative to that project.
    file, sep, key = name.rpartition(":")
    if not sep:
        if name.endswith(".dvc"):
            return _join(base, name)
        file, key = "dvc.yaml", name
    rel = _join(base, file)
    return key if rel == "dvc.yaml" else f"{rel}:{key}"


def _status_in(folder: Path) -> dict[str, list[str]] | None:
    res = process.run((process.tool("dvc"), "status", "--json"), cwd=folder, check=False)
    if res.returncode != 0:
        return None
    try:
        data = json.loads(res.out or "{}")
    except json.JSONDecodeError:
        return None
    stale: dict[str, list[str]] = {}
    for stage, changes in data.items() if isinstance(data, dict) else []:
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


def tracked_at(root: Path, rev: str, path: str) -> str | None:
    """The md5 dvc.lock or a .dvc file records for `path` (or the DVC-cached folder holding it) at `rev`.

    None also for an output DVC does not cache (`cache: false`, as the pipeline declares it now: dvc.lock does not
    record the flag): only git can hold those.
    """
    cached = {o.path: "" for o in read_project(root).outs if o.cached}
    if hash_for(posixpath.normpath(path), cached) is None:
        return None
    entry = hash_for(posixpath.normpath(path), hashes_at(root, rev))
    return entry["md5"] if entry else None


def read_tracked(root: Path, path: str, rev: str, *, limit: int) -> bytes | None:
    """A DVC-tracked file as it was at `rev`, read the way `dvc metrics show -a` reads it: through DVC, from the
    cache or the default remote. None when DVC does not track it at `rev` or cannot get its content.

    The bytes are kept by content (md5, and the path inside a tracked folder) under the state dir, so a second
    read of a release's metrics starts no DVC.
    """
    md5 = tracked_at(root, rev, path)
    if md5 is None:
        return None
    key = hashlib.sha256(f"{md5}\0{path if md5.endswith('.dir') else ''}".encode()).hexdigest()[:40]
    state = _state_dir(root)
    entry = None if state is None else state / "blobs" / f"{key}.json"
    cached = jsoncache.get(entry)
    if isinstance(cached, dict) and isinstance(cached.get("text"), str):
        return bytes(cached["text"], "latin-1")
    raw = _dvc_read(root, path, rev, limit)
    if raw is not None and (md5.endswith(".dir") or hashlib.md5(raw, usedforsecurity=False).hexdigest() == md5):
        jsoncache.put(entry, {"text": raw.decode("latin-1")})
    return raw


def _dvc_read(root: Path, path: str, rev: str, limit: int) -> bytes | None:
    import dvc.api
    from dvc.exceptions import DvcException
    from dvc_data.index import DataIndexError

    base = project_of(project_roots(root), path)
    inner = path[len(base) + 1 :] if base else path
    try:
        with dvc.api.open(inner, repo=str(root / base) if base else str(root), rev=rev, mode="rb") as handle:
            raw = handle.read(limit + 1)
    except (DvcException, DataIndexError, OSError, ValueError, KeyError):
        return None  # not in the cache, no remote, or the remote unreachable: the caller names the fix
    if not isinstance(raw, bytes) or len(raw) > limit:
        return None
    return raw


def objects(root: Path, rev: str, wanted: Mapping[str, str]) -> dict[str, bytes]:
    """The DVC objects recorded at `rev` (path -> md5, a folder's `.dir` listing too) as bytes, path -> bytes.

    DVC's own cache object finds them (`cache.dir` wherever it points, DVC 3's `files/md5/` and DVC 2's layout);
    what it lacks DVC fetches from the project's configured remote, then the cache is asked again. Raises
    MlgitError naming the first path DVC cannot get. The caller checks the bytes against the md5.
    """
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    found: dict[str, bytes] = {}
    by_project: dict[str, dict[str, str]] = {}
    roots = project_roots(root)
    for path, md5 in wanted.items():
        by_project.setdefault(project_of(roots, path), {})[path] = md5
    for base, items in by_project.items():
        try:
            with Repo(str(root / base) if base else str(root)) as repo:
                found.update(_objects_in(repo, base, rev, items))
        except DvcException as exc:
            raise _unreachable(next(iter(items)), rev, exc) from None
    return found


def _objects_in(repo: Any, base: str, rev: str, items: Mapping[str, str]) -> dict[str, bytes]:
    found = {path: raw for path, md5 in items.items() if (raw := _cached(repo, md5)) is not None}
    missing = [path for path in items if path not in found]
    if missing:
        try:  # only when the cache lacks them: DVC then reads its configured remote
            repo.fetch(targets=[p[len(base) + 1 :] if base else p for p in missing], revs=[rev], workspace=False)
        except Exception as exc:  # noqa: BLE001 - any DVC failure means the bytes cannot be had
            raise _unreachable(missing[0], rev, exc) from None
    for path in missing:
        raw = _cached(repo, items[path])
        if raw is None:
            raise _unreachable(path, rev, None)
        found[path] = raw
    return found


def _cached(repo: Any, md5: str) -> bytes | None:
    # `local` is DVC 3's cache (files/md5/), `legacy` the DVC 2 layout a repository cached before DVC 3 still has.
    for odb in (repo.cache.local, repo.cache.legacy):
        if odb is None:
            continue
        path = odb.oid_to_path(md5)
        if odb.fs.isfile(path):
            data: bytes = odb.fs.read_bytes(path)
            return data
    return None


def _unreachable(path: str, rev: str, exc: Exception | None) -> MlgitError:
    why = f": {exc}" if exc is not None else ""
    return MlgitError(
        f"{path} at {rev[:12]} is in neither the DVC cache nor a reachable remote{why}",
        hint="dvc fetch the release's commit, or configure the remote",
    )


def open_url(url: str) -> Any:
    """A binary file object reading `url` through DVC's filesystem for its scheme (s3://, gs://, azure://,
    http(s)://, ...), with the credentials that filesystem finds. InputError when it cannot be opened."""
    from dvc.fs import get_cloud_fs

    try:
        cls, kwargs, fs_path = get_cloud_fs(None, url=url)
        return cls(**kwargs).open(fs_path, mode="rb")
    except Exception as exc:  # noqa: BLE001 - every filesystem raises its own types; the message is what matters
        raise InputError(f"{url}: cannot be opened ({type(exc).__name__}: {str(exc)[:200]})") from None


def remote_problems(root: Path) -> list[str]:
    """Why a CI runner could not `dvc pull` this repository's DVC-tracked files, each with the command to fix it.

    Checked per DVC project: no default remote, a remote only in `.dvc/config.local` (not in git), or a local
    path (a folder on this machine, which a hosted runner cannot reach).
    """
    problems: list[str] = []
    for base in project_roots(root):
        folder = root / base if base else root
        where = f" of the DVC project in {base}/" if base else ""
        remote = default_remote(folder)
        local_only = _config_local_remote(folder)
        if remote is None and local_only:
            problems.append(
                f"the default DVC remote{where} is set only in .dvc/config.local, which is not committed, so CI "
                f"has no remote: run 'dvc remote add -d {local_only} URL' (without --local) and commit .dvc/config"
            )
        elif remote is None:
            problems.append(
                f"no default DVC remote{where}: CI cannot 'dvc pull' the data and models; run "
                "'dvc remote add -d storage s3://bucket/path' (or another URL a runner reaches), "
                "commit .dvc/config and 'dvc push'"
            )
        elif "://" not in remote.url or remote.url.lower().startswith("file://"):
            problems.append(
                f"the default DVC remote{where} {remote.name!r} is a local path ({remote.url}) that a hosted "
                f"runner cannot reach: run 'dvc remote modify {remote.name} url s3://bucket/path' (or another "
                "URL a runner reaches), or run CI on a self-hosted runner that has this path"
            )
    return problems


def _config_local_remote(folder: Path) -> str | None:
    return read_config(folder, "config.local").get("core", {}).get("remote")


def use_cache(root: Path, cache_dir: Path) -> None:
    """Point this checkout's DVC cache at `cache_dir` (`.dvc/config.local`, never committed)."""
    process.run((process.tool("dvc"), "config", "--local", "cache.dir", str(cache_dir)), cwd=root)


def checkout(root: Path) -> None:
    """Fill the work tree from the cache; what is not cached is left missing (`dvc repro` then builds it)."""
    process.run((process.tool("dvc"), "checkout", "-q"), cwd=root, check=False)


def update(root: Path, targets: Sequence[str]) -> None:
    """Re-import `targets` (`.dvc` files of `dvc import`) from their sources."""
    process.run((process.tool("dvc"), "update", "-q", *targets), cwd=root)


def repro(root: Path, *, force: bool = False) -> None:
    """Run the pipeline's stale stages (`force`: every stage); a failure raises CommandFailed."""
    process.run((process.tool("dvc"), "repro", *(("-f",) if force else ()), "-q"), cwd=root)


def push(root: Path) -> None:
    """Push the outputs in the cache to the default remote."""
    process.run((process.tool("dvc"), "push", "-q"), cwd=root)
