"""pyvswitch.daemon layer (see shared/design/ARCHITECTURE.md)."""
