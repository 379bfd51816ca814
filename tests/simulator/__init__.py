"""ESXi / vCenter simulator harness (tests/simulator/harness.py) and its own tests."""
