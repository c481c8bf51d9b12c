"""pyvswitch.ofproto_dpif: the bridge between OpenFlow tables and the datapath.

* :mod:`.switch` -- :class:`~.switch.Switch`, the in-process switch (datapath,
  conntrack, bridges); :mod:`.bridge` -- :class:`~.bridge.Bridge`, one OpenFlow bridge.
* Translation (OVS ``ofproto-dpif-xlate``): :mod:`.xlate` (entry point, table lookups,
  action sets), :mod:`.xlate_actions` (one handler per action), :mod:`.xlate_ct`,
  :mod:`.xlate_group`, :mod:`.normal`, :mod:`.learn`; state in :mod:`.xlate_ctx`;
  :mod:`.commit` turns header changes into datapath set/push/pop actions;
  :mod:`.fieldops` reads and writes fields while un-wildcarding them.
* :mod:`.recirc` -- frozen pipelines behind recirculation ids.
* :mod:`.upcall` -- the datapath's upcall callback; :mod:`.revalidate` -- statistics
  push and megaflow revalidation.
* :mod:`.trace` -- ``ofproto/trace``; :mod:`.trace_tree`, :mod:`.trace_text`,
  :mod:`.trace_values` -- its text.
* :mod:`.events` -- packet-ins for the OpenFlow layer; :mod:`.ports` -- ports and VLANs.

Layer: ofproto_dpif (see shared/design/ARCHITECTURE.md).  Imports: ofproto, dpif,
conntrack, odp, flow, packet.headers.
"""
