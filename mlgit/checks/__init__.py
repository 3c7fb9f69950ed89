"""Checks: values that read the repository and yield findings, never write it.

`check.py` declares the `Check` protocol and the `Context` every check gets; `suite.CHECKS` is the tuple
`mlgit check` and `mlgit report` both run. The data check is in parts: `rules` (what the schema and the
expectations ask) -> `query` (one pass of aggregates) -> `judge` (aggregates to findings); `drift` compares
profiles with the base's; `schema` classifies schema changes; `model` covers pipeline, policy and artifact.

To add a check: a class with a `family` and `findings(ctx) -> Iterator[Finding]` (its codes declared in
`mlgit.results.codes`), added to `suite.CHECKS`; heavy imports go inside `findings`, so `mlgit --help`
stays fast. Anything that must change a file is an action in `mlgit.actions`, called by a command.
"""
