"""The hidden ``ofctl/*`` control methods behind ``pyvs-ofctl``, with ovs-ofctl's output.

Layer: daemon (imports ``flow.flow_text``, ``flow.flowmod``, ``control.commands``,
``daemon.commands``, ``daemon.ofctl_text``).

Until the OpenFlow socket arrives, ``pyvs-ofctl`` sends each command here over the
control socket: ``ofctl/<command> [--option...] BRIDGE [ARG...]``.  Options are the CLI's
own (``--names``, ``--no-stats``, ``--strict``, ``--sort``, ``--protocols=OpenFlow13``...),
forwarded as words.  Replies are the exact text ovs-ofctl prints, including the
``NXST_FLOW reply (xid=0x4):`` headers and their transaction ids, which depend on the
OpenFlow version and on how many requests ovs-ofctl would have sent first.

Multi-flow edits (``add-flows``, ``replace-flows``) are all-or-nothing: every line is
parsed before anything changes, and if the switch refuses one flow the flows changed
before it are put back.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pyvswitch.control.commands import CommandError
from pyvswitch.daemon.cmd_trace import eth_from_hex
from pyvswitch.daemon.commands import find_bridge
from pyvswitch.daemon.ofctl_text import (
    flow_error,
    format_aggregate,
    format_features,
    format_port_stats,
    format_tables,
)
from pyvswitch.errors import OFPError, ParseError
from pyvswitch.flow.flow_text import (
    format_flow_stats,
    format_group_desc,
    parse_flow_mod,
    parse_flow_mods,
    parse_group_mod,
)
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, GroupModCommand
from pyvswitch.flow.ofpacts import GroupDesc
from pyvswitch.flow.values import parse_port

if TYPE_CHECKING:
    from pyvswitch.daemon.loop import Daemon

__all__ = ["register"]

_MANY = 2**31 - 1
_VERSIONS = {"openflow10": 10, "openflow11": 11, "openflow12": 12, "openflow13": 13,
             "openflow14": 14, "openflow15": 15}


class _Opts:
    def __init__(self, args: list[str]) -> None:
        self.words: dict[str, str | None] = {}
        i = 0
        while i < len(args) and args[i].startswith("--"):
            key, eq, value = args[i].partition("=")
            self.words[key] = value if eq else None
            i += 1
        self.rest = args[i:]
        self.version = 10
        protos = self.words.get("--protocols")
        if protos:
            wanted = [_VERSIONS.get(p.strip().lower()) for p in protos.split(",")]
            if None in wanted:
                raise CommandError(f"{protos}: unknown OpenFlow version")
            # ovs-ofctl negotiates the highest version both sides allow
            self.version = max(v for v in wanted if v is not None and v <= 13) if any(
                v is not None and v <= 13 for v in wanted) else 13

    def has(self, word: str) -> bool:
        return word in self.words


def _bridge(d: Daemon, name: str) -> Any:
    return find_bridge(d, name, f"{name} is not a bridge or a socket")


def _parse(text: str, command: FlowModCommand, br: Any) -> FlowMod:
    return _naming(text, parse_flow_mod, text, command, br.port_map())


def _naming(text: str, fn: Any, *args: Any) -> Any:
    """``fn(*args)``; a ParseError learns the flow text it is about (for its message)."""
    try:
        return fn(*args)
    except ParseError as exc:
        if exc.text is not None:
            raise
        raise ParseError(exc.msg, text, exc.pos) from None


def _apply(br: Any, fms: list[FlowMod]) -> None:
    """Apply flow_mods in order; if one is refused, put the tables back as they were.

    One flow_mod is atomic by itself; for several, the rules are copied first and the
    copies reinstalled after a refusal (counters and ages included).
    """
    if len(fms) == 1:
        br.handle_flow_mod(fms[0])
        return
    saved = [copy.copy(r) for r in br.ofproto.rules()]
    try:
        for fm in fms:
            br.handle_flow_mod(fm)
    except OFPError:
        _restore(br, saved)
        raise


def _restore(br: Any, rules: list[Any]) -> None:
    ofp = br.ofproto
    for r in ofp.rules():
        ofp.tables[r.table_id].cls.remove(r)
        ofp.unlink_rule(r)
    for r in rules:
        ofp.insert_rule(r)
    br.changed()


def _xid(opts: _Opts, base10: int, base13: int, extra: bool) -> int:
    """ovs-ofctl's transaction id: later when it had to ask for port names first."""
    xid = base10 if opts.version == 10 else base13
    return xid + 4 if extra else xid


def _reply_name(opts: _Opts, nx: str, std: str) -> str:
    return nx if opts.version == 10 else f"{std} reply (OF1.{opts.version - 10})"


def register(d: Daemon) -> None:
    t = d.table

    def dump_flows(args: list[str]) -> str:
        o = _Opts(args)
        if not o.rest:
            raise CommandError("'dump-flows' command requires at least 1 arguments")
        br = _bridge(d, o.rest[0])
        flt = o.rest[1] if len(o.rest) > 1 else None
        names = o.has("--names")
        stats = not o.has("--no-stats")
        sort = "--sort" in o.words or "--rsort" in o.words
        flows = _naming(flt or "", br.flow_stats, flt, d.clock())
        plain = not names and stats and not sort
        if not plain or o.version != 10:
            flows = [replace(f, idle_age=None, hard_age=None) for f in flows]
        if sort:
            flows.sort(key=lambda f: f.priority, reverse="--rsort" in o.words)
        pn = br.port_names() if names else None
        lines = [format_flow_stats(f, show_stats=stats, port_names=pn) for f in flows]
        if plain:
            xid = _xid(o, 0x4, 0x2, flt is not None)
            head = "NXST_FLOW reply" if o.version == 10 else _reply_name(o, "", "OFPST_FLOW")
            lines.insert(0, f"{head} (xid={xid:#x}):")
        return "".join(line + "\n" for line in lines)

    def dump_aggregate(args: list[str]) -> str:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        flt = o.rest[1] if len(o.rest) > 1 else None
        flows = _naming(flt or "", br.flow_stats, flt, d.clock())
        head = _reply_name(o, "NXST_AGGREGATE reply", "OFPST_AGGREGATE")
        return format_aggregate(head, _xid(o, 0x4, 0x2, flt is not None), flows)

    def add_flow(args: list[str]) -> None:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        _apply(br, [_parse(text, FlowModCommand.ADD, br) for text in o.rest[1:]])

    def add_flows(args: list[str]) -> None:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        source = o.words.get("--source") or "-"
        _apply(br, parse_flow_mods(o.rest[1:], FlowModCommand.ADD, br.port_map(),
                                   source=source))

    def mod_flows(args: list[str]) -> None:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        cmd = FlowModCommand.MODIFY_STRICT if o.has("--strict") else FlowModCommand.MODIFY
        if o.has("--file"):
            fms = parse_flow_mods(o.rest[1:], cmd, br.port_map(),
                                  source=o.words.get("--file") or "-")
        else:
            fms = [_parse(text, cmd, br) for text in o.rest[1:]]
        _apply(br, fms)

    def del_flows(args: list[str]) -> None:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        cmd = FlowModCommand.DELETE_STRICT if o.has("--strict") else FlowModCommand.DELETE
        if o.has("--file"):
            fms = parse_flow_mods(o.rest[1:], cmd, br.port_map(),
                                  source=o.words.get("--file") or "-")
        else:
            fms = [_parse(o.rest[1] if len(o.rest) > 1 else "", cmd, br)]
        _apply(br, fms)

    def replace_flows(args: list[str]) -> None:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        source = o.words.get("--source") or "-"
        wanted = parse_flow_mods(o.rest[1:], FlowModCommand.ADD, br.port_map(), source=source)
        _apply(br, _replace_plan(br, wanted))

    def show(args: list[str]) -> str:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        return format_features(br, d.ports, o.version)

    def dump_ports(args: list[str]) -> str:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        only = None
        named = False
        if len(o.rest) > 1:
            try:
                only = parse_port(o.rest[1], br.port_map())
            except ParseError:
                only = None
            if only is None:
                raise CommandError(f"{o.rest[0]}: unknown port `{o.rest[1]}'")
            named = not o.rest[1].isdigit()
        head = "OFPST_PORT reply" if o.version == 10 else _reply_name(o, "", "OFPST_PORT")
        xid = 0x4 if named else 0x2
        return format_port_stats(br, d.ports, o.version, only, f"{head} (xid={xid:#x})",
                                 d.clock())

    def dump_tables(args: list[str]) -> str:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        head = "OFPST_TABLE reply" if o.version == 10 else _reply_name(o, "", "OFPST_TABLE")
        return format_tables(br, o.version, f"{head} (xid=0x2):")

    def dump_groups(args: list[str]) -> str:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        head = _reply_name(o, "NXST_GROUP_DESC reply", "OFPST_GROUP_DESC")
        only = o.rest[1] if len(o.rest) > 1 else None
        lines = [f"{head} (xid=0x2):"]
        for g in br.ofproto.groups:
            if only is not None and str(g.group_id) != only:
                continue
            desc = GroupDesc(g.group_id, g.type, tuple(g.buckets), g.selection_method)
            lines.append(format_group_desc(desc, show_bucket_ids=o.version == 10,
                                           port_names=br.port_names() if o.has("--names")
                                           else None))
        return "\n".join(lines) + "\n"

    def group_mod(command: GroupModCommand) -> Any:
        def run(args: list[str]) -> None:
            o = _Opts(args)
            br = _bridge(d, o.rest[0])
            texts = o.rest[1:] or ([""] if command is GroupModCommand.DELETE else [])
            mods = [_naming(text, parse_group_mod, text or "group_id=all", command)
                    for text in texts]
            for gm in mods:
                br.handle_group_mod(gm)
        return run

    def packet_out(args: list[str]) -> None:
        o = _Opts(args)
        br = _bridge(d, o.rest[0])
        _packet_out(d, br, o.rest[1:])

    for name, usage_args, fn in (
        ("dump-flows", (1, 2), dump_flows),
        ("dump-aggregate", (1, 2), dump_aggregate),
        ("add-flow", (2, _MANY), add_flow),
        ("add-flows", (1, _MANY), add_flows),
        ("mod-flows", (2, _MANY), mod_flows),
        ("del-flows", (1, _MANY), del_flows),
        ("replace-flows", (1, _MANY), replace_flows),
        ("show", (1, 1), show),
        ("dump-ports", (1, 2), dump_ports),
        ("dump-tables", (1, 1), dump_tables),
        ("dump-groups", (1, 2), dump_groups),
        ("add-group", (2, _MANY), group_mod(GroupModCommand.ADD)),
        ("add-groups", (1, _MANY), group_mod(GroupModCommand.ADD)),
        ("mod-group", (2, _MANY), group_mod(GroupModCommand.MODIFY)),
        ("del-groups", (1, _MANY), group_mod(GroupModCommand.DELETE)),
        ("packet-out", (4, _MANY), packet_out),
    ):
        t.register(f"ofctl/{name}", None, 0, _MANY, _with_min(name, usage_args[0], fn))


def _with_min(name: str, n: int, fn: Any) -> Any:
    """Count the positional arguments (after the options) as ovs-ofctl does."""

    def run(args: list[str]) -> Any:
        rest = [a for a in args if not a.startswith("--")]
        if len(rest) < n:
            raise CommandError(f"'{name}' command requires at least {n} arguments")
        try:
            return fn(args)
        except ParseError as exc:
            raise CommandError(flow_error(exc)) from None

    return run


def _replace_plan(br: Any, wanted: list[FlowMod]) -> list[FlowMod]:
    """The flow_mods that turn the tables into exactly ``wanted`` (ovs-ofctl
    replace-flows): delete what is not wanted, add what is new or differs, leave
    identical flows (and their counters) alone."""
    have = {(r.table_id, r.priority, r.match): r for r in br.ofproto.rules()
            if not br.ofproto.tables[r.table_id].hidden}
    plan: list[FlowMod] = []
    keep = set()
    for fm in wanted:
        key = (fm.table_id or 0, fm.priority, fm.match)
        keep.add(key)
        r = have.get(key)
        if (r is not None and tuple(r.actions) == tuple(fm.actions) and r.cookie == fm.cookie
                and r.idle_timeout == fm.idle_timeout and r.hard_timeout == fm.hard_timeout
                and r.flags == fm.flags):
            continue
        plan.append(fm)
    for key, r in have.items():
        if key not in keep:
            plan.insert(0, FlowMod(command=FlowModCommand.DELETE_STRICT, match=r.match,
                                   priority=r.priority, table_id=r.table_id))
    return plan


def _packet_out(d: Daemon, br: Any, args: list[str]) -> None:
    from pyvswitch.flow.actions_text import parse_actions

    in_port_text, actions_text, packets = args[0], args[1], args[2:]
    try:
        in_port = parse_port(in_port_text, br.port_map())
    except ParseError:
        in_port = None
    if in_port is None:
        raise CommandError(f"{br.name}: unknown port `{in_port_text}'")
    actions = _naming(actions_text, parse_actions, actions_text, br.port_map())
    frames = []
    for hexstr in packets:
        try:
            frames.append(eth_from_hex(hexstr))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    now = d.clock()
    for frame in frames:
        out = d.switch.packet_out(br, in_port, actions, frame, now)
        d.send_named(out, now)
