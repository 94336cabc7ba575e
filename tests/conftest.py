"""Shared fixtures. Fixture families live in their own plugin modules, registered here."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.fixtures_browser", "tests.fixtures_documents", "tests.fixtures_models"]
