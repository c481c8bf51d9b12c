"""Shared fixtures: a clean coverage registry per test."""

import pytest

from pyvswitch import coverage


@pytest.fixture(autouse=True)
def _fresh_coverage():
    coverage.reset()
    yield
