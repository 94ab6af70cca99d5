"""Labelled evaluation sets for the sample help centre (data files and their loader)."""
