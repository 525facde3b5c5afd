"""Loaded first (``-p tests.plugin`` in pyproject.toml), before pytest-django loads the settings:
the test session is one of the entry points that start the embedded servers, since loading the
settings starts nothing."""

from pathlib import Path

from lib.services import data_dir, start_embedded

start_embedded(data_dir(Path(__file__).resolve().parent.parent))
