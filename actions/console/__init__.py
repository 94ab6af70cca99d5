"""The support team's web console (python -m actions.console)."""
