"""Continuous training: deciding to retrain, retraining in a temporary worktree, and the reproducibility check."""
