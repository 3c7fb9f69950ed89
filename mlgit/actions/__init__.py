"""Everything that changes shared state: tags, generated files, forge comments, workflows."""
