"""`python -m mlgit` entry point."""

from __future__ import annotations

from mlgit.cli.exit import console

if __name__ == "__main__":
    raise SystemExit(console())
