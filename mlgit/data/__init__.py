"""Datasets: reading tables, schema files, profiles and schema inference."""
