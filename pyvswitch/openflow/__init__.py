"""pyvswitch.openflow: the OpenFlow 1.0/1.3/1.4 + Nicira codec and a sans-I/O connection.

Layer: openflow (see shared/design/ARCHITECTURE.md).  Imports: flow, errors, types only;
knows nothing about tables or ports beyond their wire form (STYLE.md 6.2 rule 6).

The surface other layers use:

* :func:`pyvswitch.openflow.codec.decode` ``(data, state=None) -> message`` and
  :func:`pyvswitch.openflow.codec.encode` ``(msg, version, xid, state=None) -> bytes``;
  messages are the values of :mod:`pyvswitch.openflow.messages` plus the shared
  ``FlowMod`` / ``GroupMod`` / ``FlowStats`` of :mod:`pyvswitch.flow.flowmod`.  Bad input
  raises :class:`~pyvswitch.errors.OFPError` (OVS's error name); what a version cannot
  carry raises :class:`~pyvswitch.errors.LocalProtocolError`.
* :class:`pyvswitch.openflow.connection.OFConnection` ``(role="switch"|"controller")``:
  ``initiate()``, ``receive_data()``, ``next_event()`` (``VersionNegotiated``,
  ``NegotiationFailed``, ``MessageReceived``, ``MessageRejected``, ``ConnectionClosed`` or
  ``NEED_DATA``), ``send(msg, xid=None)``, ``send_error()``, ``data_to_send()``;
  ``session`` is the Nicira :class:`~pyvswitch.openflow.messages.SessionState`.
* :func:`pyvswitch.openflow.errors.encode_error` ``(err, version, xid, request)``.
* :func:`pyvswitch.openflow.header.split_messages`, :func:`pyvswitch.openflow.multipart.
  merge_replies`, :func:`pyvswitch.openflow.table_features.default_table_features`,
  :func:`pyvswitch.openflow.msg_flow.legacy_flow_format_needed` (what an OpenFlow 1.0
  client must enable before a flow_mod, as ovs-ofctl decides).
"""
