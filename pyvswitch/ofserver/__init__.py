"""The switch side of OpenFlow: connections, controllers and message semantics.

``targets`` reads connection targets, ``rconn`` keeps one controller connection alive
(backoff, inactivity probes), ``ofconn`` is one OpenFlow session, ``handler`` and its
helpers turn requests into switch operations and replies, ``asyncmsg`` turns the
bridges' events into packet-in / flow-removed / port-status messages, ``bundles`` holds
transactions, and ``connmgr`` ties a bridge's connections together (roles, fail-open).

Everything here is sans-I/O: bytes in, bytes out, ``now`` passed in.  The sockets live
in ``pyvswitch.daemon.ofsockets``.

Layer: ofserver (between ofproto_dpif and daemon).  Imports: ofproto_dpif, ofproto,
openflow, flow, errors, types, coverage.
"""
