"""pyvswitch.ofproto layer (see shared/design/ARCHITECTURE.md)."""
