"""pyvswitch.openflow layer (see shared/design/ARCHITECTURE.md)."""
