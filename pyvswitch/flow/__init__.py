"""pyvswitch.flow layer (see shared/design/ARCHITECTURE.md)."""
