"""Property: whatever the history of flow changes, a switch with warm caches forwards
every packet exactly as a brand-new switch holding the same flows does.

A stale megaflow -- one that revalidation failed to update or delete -- would make
the long-lived switch answer from its cache with the old tables' verdict."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyvswitch.ofproto_dpif.switch import Switch

from .conftest import tcp, udp

MATCHES = [
    "ip", "tcp", "udp", "in_port=1", "in_port=2,ip", "tcp,tp_dst=80", "tcp,tp_dst=81",
    "udp,udp_dst=53", "ip,nw_src=198.51.100.1", "ip,nw_src=198.51.100.0/30",
    "ip,nw_dst=198.51.100.2", "dl_dst=50:54:00:00:00:02", "tcp,tcp_flags=+syn",
]
ACTIONS = [
    "output:1", "output:2", "output:3", "drop", "mod_tp_dst:8080,output:2",
    "resubmit(,1)", "mod_dl_src:50:54:00:00:00:09,output:3", "output:2,output:3",
]
PACKETS = [
    ("p1", tcp(1, 2, 1000, 80)), ("p1", tcp(1, 2, 1000, 81, "A")), ("p2", tcp(2, 3, 5, 80)),
    ("p1", udp(1, 2, dport=53)), ("p3", udp(3, 2, dport=54)), ("p2", udp(2, 1, dport=53)),
]

flow_spec = st.tuples(st.sampled_from([0, 1]), st.integers(1, 4), st.sampled_from(MATCHES),
                      st.sampled_from(ACTIONS))
op = st.one_of(
    st.tuples(st.just("add"), flow_spec),
    st.tuples(st.just("del"), flow_spec),
    st.tuples(st.just("mod"), flow_spec),
    st.tuples(st.just("pkt"), st.integers(0, len(PACKETS) - 1)),
)


def _switch() -> Switch:
    sw = Switch()
    sw.add_bridge("br0", fail_mode="secure")
    for i in (1, 2, 3):
        sw.add_port("br0", f"p{i}", ofport_request=i)
    return sw


def _flow(spec) -> str:
    table, prio, match, actions = spec
    return f"table={table},priority={prio},{match},actions={actions}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=20))
def test_warm_switch_forwards_like_a_fresh_one(ops):
    warm = _switch()
    br = warm.bridge("br0")
    flows: dict[tuple, str] = {}
    now = 1.0
    for kind, arg in ops:
        now += 0.01
        if kind == "pkt":
            port, pkt = PACKETS[arg]
            fresh = _switch()
            fresh.bridge("br0").add_flows(list(flows.values()))
            assert warm.receive(port, [pkt], now) == fresh.receive(port, [pkt], now)
            continue
        table, prio, match, _actions = arg
        text = _flow(arg)
        key = (table, prio, match)
        if kind == "add":
            br.add_flow(text)
            flows[key] = text
        elif kind == "del":
            br.del_flows(f"table={table},priority={prio},{match}", strict=True)
            flows.pop(key, None)
        elif key in flows:
            br.mod_flows(text, strict=True)
            flows[key] = text
