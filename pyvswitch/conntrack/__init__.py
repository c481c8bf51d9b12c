"""pyvswitch.conntrack layer (see shared/design/ARCHITECTURE.md)."""
