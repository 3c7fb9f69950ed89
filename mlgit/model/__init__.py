"""Models: safe loaders, golden inputs and predictors, reusable by packaging and serving."""
