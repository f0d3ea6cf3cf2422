"""Fakes passed in to the code under test (never put on sys.modules)."""
