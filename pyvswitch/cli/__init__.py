"""pyvswitch.cli layer (see shared/design/ARCHITECTURE.md)."""
