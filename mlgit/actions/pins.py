"""The one table of third-party actions the generated workflows use, pinned by full commit SHA."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ActionPin:
    """An action at an immutable commit, with the release tag that commit carries."""

    repo: str
    sha: str
    version: str

    @property
    def uses(self) -> str:
        """The `uses:` value followed by the version comment, as written in a workflow."""
        return f"{self.repo}@{self.sha} # {self.version}"


# Re-check before a release: each SHA must be the commit the version tag points to (tags can move, SHAs cannot).
ACTIONS: dict[str, ActionPin] = {
    pin.repo: pin
    for pin in (
        ActionPin("actions/checkout", "3d3c42e5aac5ba805825da76410c181273ba90b1", "v7.0.1"),
        ActionPin("actions/setup-python", "5fda3b95a4ea91299a34e894583c3862153e4b97", "v7.0.0"),
        ActionPin("actions/cache", "27d5ce7f107fe9357f9df03efb73ab90386fccae", "v5.0.5"),
        ActionPin("actions/upload-artifact", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f", "v7.0.0"),
        ActionPin("actions/download-artifact", "3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c", "v8.0.1"),
    )
}
