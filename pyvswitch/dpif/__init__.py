"""pyvswitch.dpif layer (see shared/design/ARCHITECTURE.md)."""
