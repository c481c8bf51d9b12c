"""pyvswitch.config layer (see shared/design/ARCHITECTURE.md)."""
