"""`python -m mlgit` entry point."""

from __future__ import annotations

from mlgit.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
