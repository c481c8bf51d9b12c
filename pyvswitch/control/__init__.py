"""pyvswitch.control layer (see shared/design/ARCHITECTURE.md)."""
