"""Test helpers shared by the suite: repository builders, a fake GitHub, local action stand-ins."""
