"""pyvswitch.packet layer (see shared/design/ARCHITECTURE.md)."""
