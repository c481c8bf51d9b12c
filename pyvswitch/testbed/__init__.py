"""pyvswitch.testbed layer (see shared/design/ARCHITECTURE.md)."""
