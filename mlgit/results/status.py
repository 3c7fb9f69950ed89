"""The base of every status enum: a `str` enum whose text is its value, so renderers and JSON show `"rejected"`."""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """A member prints, formats and serializes as its value (`str()` of a plain str-mixin enum shows its name)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)
