"""Findings, severities and the catalogue of finding codes: the values every check yields and every layer may import."""
