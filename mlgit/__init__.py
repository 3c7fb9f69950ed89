"""mlgit: turn an ML repository into a GitOps system."""

from __future__ import annotations

__version__ = "0.1.0"
