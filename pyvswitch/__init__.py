"""pyvswitch: Open vSwitch semantics with an integrated connection tracker, in Python.

The package is layered as in ``shared/design/ARCHITECTURE.md``; dependencies point
downward only (see ``tests/unit/test_layers.py``).
"""

__version__ = "0.1.0"
