"""Deployment: stage tags are the desired state; `mlgit deploy apply` converges a target to them."""
