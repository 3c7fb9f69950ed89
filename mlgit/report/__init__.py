"""The pull-request report: one typed value built from the checks, rendered elsewhere."""
