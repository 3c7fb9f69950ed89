"""The repository as mlgit reads it: git, the DVC adapter, metrics and params values, and content caches."""
