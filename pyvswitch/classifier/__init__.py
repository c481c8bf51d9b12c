"""pyvswitch.classifier layer (see shared/design/ARCHITECTURE.md)."""
