"""pyvswitch.ofproto_dpif layer (see shared/design/ARCHITECTURE.md)."""
