"""Small named git calls; everything reads through git, never through a checkout."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlgit.errors import MlgitError
from mlgit.system import process, statedir


def git(*args: str, cwd: Path, stdin: bytes | None = None, check: bool = True) -> process.Completed:
    """Run one git command in `cwd`."""
    return process.run(("git", *args), cwd=cwd, stdin=stdin, check=check)


def toplevel(cwd: Path) -> Path:
    """The root of the work tree containing `cwd`."""
    # Looking for `.git` ourselves saves a process on every command; git's answer is the fallback.
    here = cwd.resolve()
    for folder in (here, *here.parents):
        marker = folder / ".git"
        if marker.is_dir() and (marker / "HEAD").is_file():
            return folder
        if marker.is_file():
            break
    res = git("rev-parse", "--show-toplevel", cwd=cwd, check=False)
    if res.returncode != 0 or not res.out.strip():
        raise MlgitError(f"{cwd} is not inside a git work tree", hint="run 'git init' first")
    return Path(res.out.strip())


def git_dir(root: Path) -> Path:
    """The git directory of the repository at `root` (`.git`, or where a worktree's `.git` file points)."""
    found = statedir.git_dir(root)
    if found is not None:
        return found
    return (root / git("rev-parse", "--git-dir", cwd=root).out.strip()).resolve()


def resolve(root: Path, rev: str) -> str | None:
    """The commit SHA that `rev` names, or None when it does not exist here."""
    res = git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", cwd=root, check=False)
    return (res.out.strip() or None) if res.returncode == 0 else None


def head(root: Path) -> str | None:
    """The HEAD commit, or None in a repository without commits."""
    return resolve(root, "HEAD")


def merge_base(root: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None when they share none."""
    res = git("merge-base", a, b, cwd=root, check=False)
    return (res.out.strip() or None) if res.returncode == 0 else None


def is_shallow(root: Path) -> bool:
    """Whether the clone is shallow (history cut off)."""
    return git("rev-parse", "--is-shallow-repository", cwd=root).out.strip() == "true"


def default_branch(root: Path, configured: str | None) -> str:
    """The default branch: configured, else origin's HEAD, else main/master, whichever exists."""
    if configured:
        return configured
    res = git("symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD", cwd=root, check=False)
    if res.returncode == 0 and res.out.strip():
        return res.out.strip().removeprefix("origin/")
    for name in ("main", "master"):
        if resolve(root, name) or resolve(root, f"origin/{name}"):
            return name
    return "main"


def remote_default_branch(root: Path, named: Sequence[str] = ()) -> tuple[str, str] | None:
    """The default branch as the remote has it, as (name such as `origin/main`, commit), or None.

    With a remote (`origin`, else the first): the first of the `named` branches (what the forge says, never a
    setting of the change) that is fetched, else the remote's HEAD as this clone recorded it, else as the remote
    itself says (`git ls-remote --symref`: actions/checkout records no origin/HEAD). Never a guess such as
    main: a repository whose default branch is `develop` would be judged by a pull request's own `main`. Without
    a remote, the local default branch (init.defaultBranch, main, master). Nothing here is read from the work
    tree or moved by checking out a change.
    """
    names = remotes(root)
    if not names:
        configured = git("config", "--get", "init.defaultBranch", cwd=root, check=False).out.strip()
        return _first_commit(root, [f"refs/heads/{b}" for b in (configured, "main", "master") if b])
    remote = "origin" if "origin" in names else names[0]
    found = _first_commit(root, [f"refs/remotes/{remote}/{b}" for b in named if b])
    if found is not None:
        return found
    res = git("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", cwd=root, check=False)
    recorded = _first_commit(root, [res.out.strip()]) if res.returncode == 0 and res.out.strip() else None
    if recorded is not None:
        return recorded
    head_ref = remote_head(root, remote)
    return _first_commit(root, [f"refs/remotes/{remote}/{head_ref}"] if head_ref else [])


def remote_head(root: Path, remote: str) -> str | None:
    """The branch the remote's HEAD points at, as the remote says (`git ls-remote --symref`), or None."""
    res = git("ls-remote", "--symref", remote, "HEAD", cwd=root, check=False)
    for line in res.out.splitlines() if res.returncode == 0 else []:
        ref, _, what = line.partition("\t")
        if what == "HEAD" and ref.startswith("ref: refs/heads/"):
            return ref.removeprefix("ref: refs/heads/")
    return None


def _first_commit(root: Path, refs: Sequence[str]) -> tuple[str, str] | None:
    for ref in dict.fromkeys(refs):
        commit = resolve(root, ref)
        if commit is not None:
            return ref.removeprefix("refs/heads/").removeprefix("refs/remotes/"), commit
    return None


def branch_ref(root: Path, branch: str) -> str | None:
    """The local branch if it exists, else the remote-tracking one (CI checks out detached)."""
    for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"):
        if resolve(root, ref):
            return ref
    return None


def branches_containing(root: Path, rev: str, *, remote_only: bool = False) -> list[str]:
    """Short names of the local and remote-tracking branches that contain `rev` (`origin/` stripped);
    `remote_only`: the remote-tracking ones only (a local branch is whatever the job checking out made it)."""
    kinds = ("refs/remotes",) if remote_only else ("refs/heads", "refs/remotes")
    out = git("for-each-ref", "--contains", rev, "--format=%(refname)", *kinds, cwd=root, check=False).out
    names = []
    for ref in out.split():
        if ref.startswith("refs/heads/"):
            names.append(ref.removeprefix("refs/heads/"))
        elif ref.startswith("refs/remotes/") and not ref.endswith("/HEAD"):
            names.append(ref.removeprefix("refs/remotes/").partition("/")[2])
    return sorted(set(names))


def show_files(root: Path, rev: str, paths: Iterable[str]) -> dict[str, bytes | None]:
    """File contents at a revision (None where absent), all through one `git cat-file --batch`."""
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return {}
    query = "".join(f"{rev}:{p}\n" for p in wanted).encode()
    out = git("cat-file", "--batch", cwd=root, stdin=query).stdout
    found: dict[str, bytes | None] = {}
    pos = 0
    for path in wanted:
        eol = out.index(b"\n", pos)
        header = out[pos:eol].split()
        pos = eol + 1
        if len(header) == 3 and header[1] == b"blob":
            size = int(header[2])
            found[path] = out[pos : pos + size]
            pos += size + 1
        elif len(header) == 3:
            # A tree or other object at that path: skip its body, it is not a file.
            pos += int(header[2]) + 1
            found[path] = None
        else:
            found[path] = None
    return found


def mode_at(root: Path, rev: str, path: str) -> str | None:
    """The git file mode of `path` at `rev` (100644, 100755, 120000 for a link, ...), None when absent."""
    res = git("ls-tree", "-z", "--end-of-options", rev, "--", path, cwd=root, check=False)
    entry = res.out.split("\0", 1)[0]
    return entry.split(" ", 1)[0] if res.returncode == 0 and entry else None


def dirty_paths(root: Path) -> list[str]:
    """Tracked files with uncommitted changes (untracked files do not count)."""
    out = git("status", "--porcelain=v1", "-z", "--untracked-files=no", cwd=root).out
    return [entry[3:] for entry in out.split("\0") if len(entry) > 3]


@dataclass(frozen=True)
class TagRecord:
    """One tag as git stores it."""

    name: str
    annotated: bool
    commit: str
    date: str
    tagger: str
    message: str


_TAG_FORMAT = "%(refname:strip=2)%00%(objecttype)%00%(objectname)%00%(*objectname)%00%(taggerdate:iso-strict)%00%(taggername)%00%(contents)%00%00"


def tags(root: Path, patterns: Sequence[str] = ()) -> list[TagRecord]:
    """All tags (or those matching glob patterns under refs/tags/), with their messages."""
    refs = [f"refs/tags/{p}" for p in patterns] or ["refs/tags"]
    out = git("for-each-ref", f"--format={_TAG_FORMAT}", *refs, cwd=root).out
    records = []
    for chunk in out.split("\0\0\n"):
        if not chunk:
            continue
        name, objtype, objname, peeled, date, tagger, message = chunk.split("\0", 6)
        annotated = objtype == "tag"
        records.append(TagRecord(name, annotated, peeled if annotated else objname, date, tagger, message))
    return records


def create_tag(root: Path, name: str, commit: str, message: str, date: str | None = None) -> None:
    """Create an annotated tag (dated `date`, a GIT_COMMITTER_DATE value, when given); fails if it exists."""
    env = {"GIT_COMMITTER_DATE": date} if date is not None else None
    res = process.run(
        ("git", "tag", "--annotate", "--file=-", "--", name, commit),
        cwd=root,
        stdin=message.encode(),
        env=env,
        check=False,
    )
    if res.returncode != 0:
        hint = None
        if "tell me who you are" in res.err or "user.email" in res.err:
            hint = "set an identity: git config user.name 'CI' && git config user.email ci@example.com"
        raise res.failure(f"could not create tag {name}", hint=hint)


def delete_tag(root: Path, name: str) -> None:
    """Delete a local tag."""
    git("tag", "--delete", name, cwd=root)


def push_tag(root: Path, remote: str, name: str) -> process.Completed:
    """Push one tag without force; the caller reads the outcome."""
    return git("push", "--porcelain", remote, f"refs/tags/{name}:refs/tags/{name}", cwd=root, check=False)


def remote_tag_names(root: Path, remote: str, pattern: str) -> list[str]:
    """Names of the remote's tags matching a glob, without fetching anything."""
    res = git("ls-remote", "--tags", "--refs", remote, f"refs/tags/{pattern}", cwd=root, check=False)
    if res.returncode != 0:
        raise res.failure(f"cannot list tags on remote '{remote}'")
    return [line.split("\t", 1)[1].removeprefix("refs/tags/") for line in res.out.splitlines() if "\t" in line]


def remotes(root: Path) -> list[str]:
    """Configured remote names."""
    return git("remote", cwd=root).out.split()


def remote_refs(root: Path, remote: str, ref: str) -> process.Completed:
    """`git ls-remote` of one ref; the caller reads the outcome (a failure names the remote)."""
    return git("ls-remote", remote, ref, cwd=root, check=False)


def fetch_refspecs(root: Path, remote: str, specs: Sequence[str]) -> process.Completed:
    """Fetch explicit refspecs without tag following; the caller reads the outcome."""
    return git("fetch", "--quiet", "--no-tags", remote, *specs, cwd=root, check=False)


def push_atomic(root: Path, remote: str, refspecs: Sequence[str], leases: Sequence[str] = ()) -> process.Completed:
    """Push refspecs all-or-nothing (`leases`: `--force-with-lease=` values); the caller reads the outcome."""
    guard = [f"--force-with-lease={lease}" for lease in leases]
    return git("push", "--porcelain", "--atomic", *guard, remote, *refspecs, cwd=root, check=False)


def blob_at(root: Path, rev: str, path: str) -> str | None:
    """The blob id of `path` at `rev`, or None when it is not there."""
    res = git("rev-parse", "--verify", "--quiet", f"{rev}:{path}", cwd=root, check=False)
    return res.out.strip() if res.returncode == 0 else None


def hash_object(root: Path, path: str) -> str:
    """The blob id git would give the work-tree file `path`."""
    return git("hash-object", "--", path, cwd=root).out.strip()


def tree_paths(root: Path, rev: str) -> list[str]:
    """Every file path in the tree of `rev`."""
    return [n for n in git("ls-tree", "-r", "--name-only", "-z", rev, cwd=root).out.split("\0") if n]


def work_tree_files(root: Path, patterns: Sequence[str]) -> list[str]:
    """Tracked and untracked-but-not-ignored files matching pathspecs (none when git fails)."""
    res = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *patterns, cwd=root, check=False)
    return [n for n in dict.fromkeys(res.out.split("\0")) if n]


def count_commits(root: Path, span: str) -> int:
    """How many commits `span` (e.g. `A..HEAD`) holds."""
    return int(git("rev-list", "--count", span, cwd=root).out.strip() or 0)


@dataclass(frozen=True)
class LogEntry:
    """One commit as a report lists it."""

    sha: str
    author: str
    date: str
    subject: str


def log(root: Path, span: str, limit: int) -> list[LogEntry]:
    """The newest `limit` commits of `span`, newest first."""
    out = git("log", f"-n{limit}", "--format=%H%x1f%an%x1f%aI%x1f%s%x1e", span, cwd=root).out
    entries = []
    for rec in out.split("\x1e"):
        parts = rec.strip("\n").split("\x1f")
        if len(parts) == 4:
            entries.append(LogEntry(*parts))
    return entries


def notes(root: Path, ref: str) -> dict[str, str]:
    """commit -> note text of every note under refs/notes/<ref> (two git calls; none when the ref is absent)."""
    listed = git("notes", f"--ref={ref}", "list", cwd=root, check=False)
    if listed.returncode != 0 or not listed.out.strip():
        return {}
    pairs = [line.split() for line in listed.out.splitlines() if line.strip()]
    query = "".join(f"{blob}\n" for blob, _commit in pairs).encode()
    out = git("cat-file", "--batch", cwd=root, stdin=query).stdout
    found: dict[str, str] = {}
    pos = 0
    for _blob, commit in pairs:
        eol = out.index(b"\n", pos)
        size = int(out[pos:eol].split()[2])
        found[commit] = out[eol + 1 : eol + 1 + size].decode("utf-8", "replace")
        pos = eol + 1 + size + 1
    return found


def set_note(root: Path, ref: str, commit: str, text: str) -> None:
    """Write (replacing) the note on a commit under refs/notes/<ref>."""
    res = git("notes", f"--ref={ref}", "add", "--force", "--file=-", commit, cwd=root, stdin=text.encode(), check=False)
    if res.returncode != 0:
        raise res.failure(f"could not write the git note on {commit[:12]}")


def commit_time(root: Path, rev: str) -> int:
    """The committer timestamp of a commit (seconds since the epoch)."""
    return int(git("show", "-s", "--format=%ct", rev, cwd=root).out.strip())


def ignored(root: Path, paths: Iterable[str]) -> set[str]:
    """Which of the paths the repository's .gitignore rules hide (`git check-ignore`)."""
    wanted = list(dict.fromkeys(paths))
    if not wanted:
        return set()
    res = git(
        "check-ignore", "-z", "--stdin", cwd=root, stdin=b"\0".join(p.encode() for p in wanted) + b"\0", check=False
    )
    return {p.decode() for p in res.stdout.split(b"\0") if p} if res.returncode in (0, 1) else set()


def worktree_add(root: Path, where: Path, rev: str) -> None:
    """A detached worktree of `rev` at `where` (the user's own work tree is never touched)."""
    git("worktree", "add", "--detach", str(where), rev, cwd=root)


def worktree_remove(root: Path, where: Path) -> None:
    """Remove a worktree and forget it; never fails (cleanup runs while another error may be on its way)."""
    git("worktree", "remove", "--force", str(where), cwd=root, check=False)
    git("worktree", "prune", cwd=root, check=False)


def switch_new(root: Path, branch: str) -> None:
    """Create (or reset) `branch` at HEAD and switch to it."""
    git("switch", "-q", "-C", branch, cwd=root)


def has_changes(root: Path) -> bool:
    """Whether the work tree differs from HEAD at all, untracked files included."""
    return bool(git("status", "--porcelain", cwd=root).out.strip())


def commit_all(root: Path, message: str) -> str:
    """Stage every change (new files too) and commit it; the new commit's SHA."""
    git("add", "-A", cwd=root)
    git("commit", "-q", "-F", "-", cwd=root, stdin=message.encode())
    return git("rev-parse", "HEAD", cwd=root).out.strip()


def force_push_branch(root: Path, remote: str, branch: str) -> None:
    """Push HEAD to `branch` on `remote`, replacing what is there (a branch only mlgit writes)."""
    git("push", "-q", "--force", remote, f"HEAD:refs/heads/{branch}", cwd=root)


def trailer(root: Path, rev: str, key: str) -> str | None:
    """The value of the commit's `key:` trailer, if it carries one."""
    out = git("log", "-1", f"--format=%(trailers:key={key},valueonly)", rev, cwd=root).out
    return out.strip() or None


def last_commit_with_trailer(root: Path, key: str) -> str | None:
    """The newest commit reachable from HEAD whose message has a `key:` trailer line."""
    return git("log", "-1", "--format=%H", "-E", f"--grep=^{key}: ", "HEAD", cwd=root).out.strip() or None


def is_ancestor(root: Path, ancestor: str, rev: str) -> bool:
    """Whether `ancestor` is `rev` or one of its ancestors."""
    return git("merge-base", "--is-ancestor", ancestor, rev, cwd=root, check=False).returncode == 0
