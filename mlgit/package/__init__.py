"""Bundles: a release packaged with its runtime, signature, golden data, locked wheels and manifest."""
