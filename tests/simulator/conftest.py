"""The simulator's own tests use the shared fixtures of tests/simulator/fixtures.py, loaded for the whole suite by
the root conftest (``pytest_plugins``); nothing to add here."""
