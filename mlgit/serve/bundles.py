"""Finding a bundle from what a user names: a folder, a `.tar.gz`, a stored digest, or a release."""

from __future__ import annotations

import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mlgit.errors import InputError, MlgitError
from mlgit.package import archive, bundle, release, store
from mlgit.repo.state import RepoState


@dataclass(frozen=True)
class Opened:
    """A bundle folder ready to read, with its archive's digest and the digest recorded when it was packaged."""

    folder: Path
    archive: Path | None
    digest: str | None  # sha256 of the archive as found (None: a folder without its archive)
    recorded: str | None  # what packaging wrote beside it or into the git note


@contextmanager
def opened(arg: str, cwd: Path, repo: RepoState | None = None) -> Iterator[Opened]:
    """Open BUNDLE (folder or .tar.gz), a stored `sha256:...`, or a release (packaged into the store first).

    `repo`: the command's repository state when it has one (deploy); else the repository is found from `cwd`
    only when `arg` names a release or a stored digest (`mlgit serve BUNDLE` may run outside any repository).
    """
    path = Path(arg)
    if not path.is_absolute():
        path = cwd / path
    if path.is_dir():
        archive_path = path.with_name(path.name + ".tar.gz")
        digest = archive.sha256_of(archive_path) if archive_path.is_file() else None
        yield Opened(path, archive_path if digest else None, digest, _recorded(path.with_name(path.name + ".tar.gz")))
        return
    if not path.is_file():
        path = _from_repo(arg, repo or RepoState.open(cwd))
    digest = archive.sha256_of(path)
    with tempfile.TemporaryDirectory(prefix="mlgit-bundle-") as tmp:
        try:
            folder = archive.extract(path, Path(tmp))
        except (OSError, ValueError, EOFError, tarfile.TarError, zlib.error) as exc:
            raise BadArchive(path, digest, f"{path.name} is not a readable bundle archive: {exc}") from None
        yield Opened(folder, path, digest, _recorded(path) or _stored_name(path))


class BadArchive(InputError):
    """A bundle that cannot be read as one: an archive that does not unpack, a manifest that does not parse."""

    def __init__(self, path: Path, digest: str | None, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.digest = digest


def _recorded(archive_path: Path) -> str | None:
    side = archive_path.with_name(archive_path.name + ".sha256")
    if side.is_file():
        return side.read_text(encoding="utf-8").split()[0]
    return None


def _stored_name(path: Path) -> str | None:
    # A stored archive is named by its digest: the name is the record.
    stem = path.name.removesuffix(".tar.gz")
    return stem if len(stem) == 64 and all(c in "0123456789abcdef" for c in stem) else None


def _from_repo(arg: str, repo: RepoState) -> Path:
    root = repo.root
    if arg.startswith("sha256:"):
        found = store.find(root, arg)
        if found is None:
            raise MlgitError(f"no bundle {arg} in the local store", hint="mlgit package the release first")
        return found
    rel = release.resolve(repo, arg)
    note = store.digests(root).get(rel.commit, {}).get(f"{rel.model}@{rel.version}")
    if isinstance(note, dict) and isinstance(note.get("sha256"), str):
        found = store.find(root, note["sha256"])
        if found is not None:
            return found
    with tempfile.TemporaryDirectory(prefix="mlgit-package-") as tmp:
        built = bundle.build(repo, rel, Path(tmp))
        return built.stored
