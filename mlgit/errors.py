"""The domain exceptions: what went wrong and where; `mlgit.cli.exit` maps each type to an exit code."""

from __future__ import annotations

from collections.abc import Sequence


class Problem:
    """One thing wrong at one place in a file, shown as `file:line: key: message`."""

    # A plain class rather than a dataclass: every `mlgit --help` imports this module, and dataclasses
    # (with inspect) would add ~10 ms to it.
    __slots__ = ("file", "key", "line", "message")

    def __init__(self, message: str, file: str | None = None, line: int | None = None, key: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.key = key

    def _fields(self) -> tuple[str, str | None, int | None, str | None]:
        return (self.message, self.file, self.line, self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return f"Problem{self._fields()!r}"

    def __str__(self) -> str:
        where = ":".join(str(part) for part in (self.file, self.line) if part is not None)
        return ": ".join(part for part in (where, self.key, self.message) if part)


class MlgitError(Exception):
    """A user-facing error about input, config, usage or the environment: shown without a traceback."""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        self.reason = message
        self.hint = hint
        self.problems = tuple(problems)
        # An error listing several problems is placed where its first one is, so a finding can point there.
        first = self.problems[0] if self.problems else Problem(message)
        self.file = file if file is not None else first.file
        self.line = line if line is not None else first.line
        self.key = key if key is not None else first.key
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """The message with its place (`file:line: key: reason`) and every listed problem, without the hint."""
        if self.problems:
            listed = "\n  ".join(str(p) for p in self.problems)
            return f"{self.reason}:\n  {listed}"
        return str(Problem(self.reason, self.file, self.line, self.key))

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nhint: {self.hint}"
        return self.message


class UsageError(MlgitError):
    """The command line asks for something that cannot be done as given."""


class ConfigError(MlgitError):
    """A file the user writes to configure mlgit (mlgit.yaml, a schema file) is invalid."""


class InputError(MlgitError):
    """A file or value the command reads (data, metrics, a DVC file, a revision) is missing or malformed."""


class MissingRevision(InputError):
    """The baseline names a commit this clone lacks: the user fetches it; it says nothing about the model."""


class Refused(MlgitError):
    """The command ran but declined to finish what was asked, as a failed check does (exit 1, not 2)."""


class CommandFailed(MlgitError):
    """An external command (git, dvc) exited non-zero where success was required."""

    # Enough of the output to see why; a DVC traceback or a long git log would bury the command line.
    SHOWN_LINES = 15

    def __init__(
        self,
        argv: Sequence[str],
        returncode: int,
        stdout: str,
        stderr: str,
        *,
        what: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        # `what`: the step the command was for ("cannot list tags on remote 'x'"), said before the command line.
        self.what = what
        super().__init__(self._describe(), hint=hint)

    def _describe(self) -> str:
        import shlex

        head = f"command failed (exit {self.returncode}): {shlex.join(self.argv)}"
        if self.what:
            head = f"{self.what}: {head}"
        shown = []
        for label, text in (("stderr", self.stderr), ("stdout", self.stdout)):
            lines = text.strip().splitlines()
            if not lines:
                continue
            cut = lines[-self.SHOWN_LINES :]
            skipped = f"    ... ({len(lines) - len(cut)} earlier lines)\n" if len(lines) > len(cut) else ""
            shown.append(f"  {label}:\n{skipped}" + "\n".join("    " + line for line in cut))
        return "\n".join([head, *(shown or ["  (no output)"])])
