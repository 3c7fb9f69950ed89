"""Monitoring: prediction logs as window profiles in the release's training bins, judged for drift and health."""
