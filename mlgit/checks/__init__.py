"""Checks: each a value that yields findings (data, drift, schema, pipeline, gate, artifact)."""
