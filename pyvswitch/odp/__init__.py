"""pyvswitch.odp layer (see shared/design/ARCHITECTURE.md)."""
