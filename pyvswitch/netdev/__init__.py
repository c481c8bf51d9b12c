"""pyvswitch.netdev layer (see shared/design/ARCHITECTURE.md)."""
