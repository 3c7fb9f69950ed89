"""mlgit.yaml: validated once at the file boundary (pydantic), then frozen dataclasses."""
