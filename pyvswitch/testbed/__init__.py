"""pyvswitch.testbed: network-namespace test hosts (see ``testbed.py``)."""

from pyvswitch.testbed.testbed import Host, Testbed, TestbedError, check_address, wait_for

__all__ = ["Host", "Testbed", "TestbedError", "check_address", "wait_for"]
