"""The process door, YAML and JSON file boundaries, content caches, atomic writes and packaged resources: what every layer above stands on."""
