"""Helpers of the test suite (not tests themselves)."""
