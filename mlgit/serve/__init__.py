"""Serving: the runtime that ships in a bundle, and the package evaluation that starts it."""
