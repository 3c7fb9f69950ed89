"""The git-tag model registry: GTO's tag grammar, semver, stages, baselines, the gate policy and lineage."""
