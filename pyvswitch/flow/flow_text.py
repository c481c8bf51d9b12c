"""Whole flows and groups in ovs-ofctl text: what ``add-flow``/``mod-flows``/``del-flows``,
``add-flows FILE``, ``add-group``/``del-groups`` accept, and the ``dump-flows`` and
``dump-groups`` lines they print.

A flow is ``[KEYWORD|FIELD=VALUE],...[,actions=ACTIONS]``: the match (see
:mod:`pyvswitch.flow.match_text`), the flow_mod keywords (``table``, ``priority``,
``cookie[=V/M]``, timeouts, ``importance``, the ``send_flow_rem``-style flags,
``out_port``/``out_group``), and the actions last (see
:mod:`pyvswitch.flow.actions_text`).  Which keywords are allowed depends on the command, as
in ovs-ofctl: ``del-flows`` takes ``out_port`` but no actions, only ``add-flow`` takes
``importance``, and so on.  The keywords ``dump-flows`` prints (``duration``,
``n_packets``...) are ignored, so a dumped line can be fed back.

:class:`~pyvswitch.flow.flowmod.FlowMod` fields as this parser fills them:

* ``table_id`` None when no ``table=`` (or ``table=255``) was given;
* ADD: ``cookie`` is the new flow's cookie;
* MODIFY(_STRICT): ``cookie``/``cookie_mask`` filter when ``cookie=V/M`` was given;
  ``new_cookie`` is V for ``cookie=V`` (replace the cookies), None to keep them;
  ``modify_may_add`` is True unless a cookie mask was given (then nothing is added; an
  added flow takes ``new_cookie`` or 0);
* DELETE(_STRICT): ``cookie``/``cookie_mask`` filter, ``out_port``/``out_group``.

Parsing ``dump-flows``/``dump-aggregate`` filters is :func:`parse_flow_mod` with
``FlowModCommand.DELETE`` (same keywords).

Layer: flow.  Imports: flow.*, errors, types.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyvswitch.errors import ParseError
from pyvswitch.flow.actions_text import format_actions, parse_actions
from pyvswitch.flow.ct_text import parse_table
from pyvswitch.flow.flowmod import (
    OFPFF_CHECK_OVERLAP,
    OFPFF_NO_BYT_COUNTS,
    OFPFF_NO_PKT_COUNTS,
    OFPFF_RESET_COUNTS,
    OFPFF_SEND_FLOW_REM,
    FlowMod,
    FlowModCommand,
    FlowStats,
    GroupMod,
    GroupModCommand,
)
from pyvswitch.flow.match import MatchBuilder
from pyvswitch.flow.match_text import apply_match_key, format_match
from pyvswitch.flow.ofpacts import Bucket, GroupDesc, GroupType
from pyvswitch.flow.values import (
    PortMap,
    PortNames,
    format_port,
    iter_kv,
    parse_port,
    str_to_u16,
    str_to_u32,
    str_to_u64,
    str_to_uint,
)
from pyvswitch.types import (
    OFPG_ALL,
    OFPG_ANY,
    OFPG_MAX,
    OFPP_CONTROLLER,
    OFPP_MAX,
    OFPP_NONE,
    ofp_port_from_of13,
    ofp_port_to_of13,
)

_FLAG_WORDS = {
    "send_flow_rem": OFPFF_SEND_FLOW_REM, "check_overlap": OFPFF_CHECK_OVERLAP,
    "reset_counts": OFPFF_RESET_COUNTS, "no_packet_counts": OFPFF_NO_PKT_COUNTS,
    "no_byte_counts": OFPFF_NO_BYT_COUNTS,
}
_STATS_WORDS = frozenset(("duration", "n_packets", "n_bytes", "idle_age", "hard_age"))

_C = FlowModCommand
_COMMAND_WORDS = (("add", _C.ADD), ("delete", _C.DELETE), ("delete_strict", _C.DELETE_STRICT),
                  ("modify", _C.MODIFY), ("modify_strict", _C.MODIFY_STRICT))


def _leading_command(text: str, words):
    """ovs-ofctl's optional command word at the start of a line (any prefix of it)."""
    body = text.lstrip(" \t\r\n")
    n = 0
    while n < len(body) and body[n] not in ", \t\r\n":
        n += 1
    token = body[:n]
    for word, command in words:
        if word.startswith(token):
            return command, body[n:]
    return None, body


# ----------------------------------------------------------------------------- flows
def parse_flow_mod(text: str, command: FlowModCommand | None,
                   port_map: PortMap | None = None) -> FlowMod:
    """Parse one flow as ``ovs-ofctl add-flow``/``mod-flows``/``del-flows`` do.

    ``command`` None lets the text start with ``add``, ``modify``, ``delete``,
    ``modify_strict`` or ``delete_strict`` (default add), as lines of ``add-flows`` files.
    A :class:`ParseError` carries ``text`` and, where known, the ``pos`` of the keyword
    (or of the action list) it is about.
    """
    try:
        return _parse_flow_mod(text, command, port_map)
    except ParseError as e:
        if e.text is None:
            e.text = text
        raise


class _at:  # noqa: N801 - used as "with _at(pos):"
    """Give a ParseError raised inside the ``with`` block the position ``pos``."""

    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, exc, tb) -> bool:
        if isinstance(exc, ParseError) and exc.pos is None:
            exc.pos = self.pos
        return False


def _parse_flow_mod(text: str, command: FlowModCommand | None,
                    port_map: PortMap | None) -> FlowMod:
    full = text
    if command is None:
        found, text = _leading_command(text, _COMMAND_WORDS)
        command = found or _C.ADD
    actions_ok = command in (_C.ADD, _C.MODIFY, _C.MODIFY_STRICT)
    out_port_ok = command in (_C.DELETE, _C.DELETE_STRICT)
    priority_ok = command is not _C.DELETE
    fm = FlowMod(command=command)
    cookie_given = False
    act_text = None
    base = len(full) - len(text)
    act_pos = 0
    if actions_ok:
        idx = text.find("action")
        eq = text.find("=", idx + 1) if idx >= 0 else -1
        if eq < 0:
            raise ParseError("must specify an action")
        text, act_text, act_pos = text[:idx], text[eq + 1:], base + eq + 1
    b = MatchBuilder()
    for key, value, kpos in iter_kv(text):
        with _at(base + kpos):
            cookie_given |= _apply_keyword(fm, b, key, value, port_map, actions_ok,
                                           out_port_ok, priority_ok)
    fm.match = b.build()
    if command in (_C.MODIFY, _C.MODIFY_STRICT):
        fm.modify_may_add = not fm.cookie_mask
        if not cookie_given:
            fm.new_cookie = None
    if act_text is not None:
        with _at(act_pos):
            fm.actions = parse_actions(act_text, port_map)
    return fm


def _apply_keyword(fm: FlowMod, b: MatchBuilder, key: str, value: str,
                   port_map: PortMap | None, actions_ok: bool, out_port_ok: bool,
                   priority_ok: bool) -> bool:
    """One ``key[=value]`` of a flow; True when it set a cookie."""
    command = fm.command
    if actions_ok and key in _FLAG_WORDS:
        fm.flags |= _FLAG_WORDS[key]
    elif key in ("no_readonly_table", "allow_hidden_fields"):
        pass
    elif apply_match_key(b, key, value, port_map):
        pass
    elif not value:
        raise ParseError(f"field {key} missing value")
    elif key == "table":
        table = parse_table(value)
        if table is None:
            raise ParseError(f'unknown table "{value}"')
        fm.table_id = None if table == 255 else table
    elif out_port_ok and key == "out_port":
        port = parse_port(value, port_map)
        if port is None:
            raise ParseError(f"{value} is not a valid OpenFlow port")
        fm.out_port = port
    elif out_port_ok and key == "out_group":
        group = parse_group_id(value)
        if group is None:
            raise ParseError(f"{value} is not a valid OpenFlow group")
        fm.out_group = group
    elif priority_ok and key == "priority":
        fm.priority = str_to_u16(value, key)
    elif actions_ok and key in ("idle_timeout", "hard_timeout"):
        setattr(fm, key, str_to_u16(value, key))
    elif command is _C.ADD and key == "importance":
        fm.importance = str_to_u16(value, key)
    elif key == "cookie":
        return _parse_cookie(fm, value)
    elif key in _STATS_WORDS:
        pass  # what dump-flows prints, so its output can be fed back
    else:
        raise ParseError(f"unknown keyword {key}")
    return False


def _parse_cookie(fm: FlowMod, value: str) -> bool:
    """Apply ``cookie=V`` or ``cookie=V/M``; True when it set a cookie (no mask)."""
    if "/" in value:
        if fm.command is _C.ADD:
            raise ParseError("flow additions cannot use a cookie mask")
        v, _, m = value.partition("/")
        fm.cookie = str_to_u64(v)
        fm.cookie_mask = str_to_u64(m)
        return False
    if fm.command not in (_C.ADD, _C.MODIFY, _C.MODIFY_STRICT):
        raise ParseError("cannot set cookie (to match on a cookie, specify a mask, e.g. "
                         f"cookie={value}/-1)")
    cookie = str_to_u64(value)
    if fm.command is _C.ADD:
        fm.cookie = cookie
    else:
        fm.new_cookie = cookie
    return True


def parse_flow_mods(lines: Iterable[str] | str, command: FlowModCommand,
                    port_map: PortMap | None = None, *, source: str = "-") -> list[FlowMod]:
    """Parse a flow file as ``ovs-ofctl add-flows``/``mod-flows BR -``...: ``#`` starts a
    comment, blank lines are skipped, and with ``command`` ADD each line may start with a
    command word.  One bad line fails the whole file: ``SOURCE:LINE: message``."""
    if isinstance(lines, str):
        lines = lines.splitlines()
    line_command: FlowModCommand | None = None if command is _C.ADD else command
    out = []
    for number, line in enumerate(lines, 1):
        line = line.split("#", 1)[0]
        if not line.strip(" \t\n\r"):
            continue
        try:
            out.append(parse_flow_mod(line, line_command, port_map))
        except ParseError as e:
            raise ParseError(f"{source}:{number}: {e.msg}", line, e.pos) from None
    return out


#: the name docs/internals.md uses
parse_flow_mods_file = parse_flow_mods


def _format_duration(seconds: float) -> str:
    ms = max(0, round(seconds * 1000))
    sec, msec = divmod(ms, 1000)
    return f"{sec}s" if not msec else f"{sec}.{msec:03d}s"


def format_flow_flags(flags: int) -> str:
    """``send_flow_rem check_overlap ...`` with a trailing space, as OVS prints them."""
    return "".join(f"{word} " for word, bit in _FLAG_WORDS.items() if flags & bit)


def format_flow_stats(stats: FlowStats, *, show_stats: bool = True,
                      port_names: PortNames | None = None) -> str:
    """One ``dump-flows`` line, with its leading space:
    `` cookie=0x0, duration=1.5s, table=0, n_packets=0, n_bytes=0, priority=5,ip actions=drop``.

    ``show_stats`` False is ``--no-stats``.  ``idle_age``/``hard_age`` print when the
    FlowStats carries them (``hard_age`` only when it differs from the duration).
    """
    out = [" "]
    if show_stats or stats.cookie:
        out.append(f"cookie={stats.cookie:#x}, ")
    if show_stats:
        out.append(f"duration={_format_duration(stats.duration)}, ")
    if show_stats or stats.table_id:
        out.append(f"table={stats.table_id}, ")
    if show_stats:
        for name, n in (("n_packets", stats.packet_count), ("n_bytes", stats.byte_count)):
            out.append(f"{name}={'?' if n == (1 << 64) - 1 else n}, ")
    if stats.idle_timeout:
        out.append(f"idle_timeout={stats.idle_timeout}, ")
    if stats.hard_timeout:
        out.append(f"hard_timeout={stats.hard_timeout}, ")
    out.append(format_flow_flags(stats.flags))
    if stats.importance:
        out.append(f"importance={stats.importance}, ")
    if show_stats and stats.idle_age is not None:
        out.append(f"idle_age={stats.idle_age}, ")
    if (show_stats and stats.hard_age is not None
            and stats.hard_age != int(round(stats.duration * 1000)) // 1000):
        out.append(f"hard_age={stats.hard_age}, ")
    match = format_match(stats.match, stats.priority, port_names)
    if match:
        out.append(match + " ")
    out.append("actions=" + format_actions(stats.actions, port_names))
    return "".join(out)


# ----------------------------------------------------------------------------- groups
_G = GroupModCommand
_GROUP_WORDS = (("add", _G.ADD), ("delete", _G.DELETE), ("modify", _G.MODIFY),
                ("add_or_mod", _G.ADD_OR_MOD), ("insert_bucket", _G.INSERT_BUCKET),
                ("remove_bucket", _G.REMOVE_BUCKET))
_GROUP_TYPES = {"all": GroupType.ALL, "select": GroupType.SELECT,
                "indirect": GroupType.INDIRECT, "ff": GroupType.FF,
                "fast_failover": GroupType.FF}


def parse_group_id(s: str) -> int | None:
    """OVS ``ofputil_group_from_string``: ``any``, ``all`` or a decimal number."""
    if s.lower() == "any":
        return OFPG_ANY
    if s.lower() == "all":
        return OFPG_ALL
    return str_to_uint(s, 10)


def parse_group_mod(text: str, command: GroupModCommand | None,
                    port_map: PortMap | None = None) -> GroupMod:
    """Parse a group as ``ovs-ofctl add-group``/``mod-group``/``del-groups`` do.

    ``command`` None lets the text start with a command word (``add``, ``modify``,
    ``add_or_mod``, ``delete``).  Bucket ids not given are numbered from 0 in order;
    ``watch_port`` is kept as an OpenFlow 1.1+ 32-bit port (0xffffffff = none).
    """
    if command is None:
        found, text = _leading_command(text, _GROUP_WORDS)
        command = found or _G.ADD
    if command in (_G.INSERT_BUCKET, _G.REMOVE_BUCKET):
        raise ParseError(f"group command {command.name.lower()} is not supported")
    typed = command is not _G.DELETE
    if command is _G.DELETE and not text.strip(" \t\r\n"):
        return GroupMod(command=command, group_id=OFPG_ALL)
    group_id = OFPG_ANY
    gtype: GroupType | None = None
    method = ""
    bucket_at = text.find("bucket=")
    bucket_text = ""
    if bucket_at >= 0:
        if not typed:
            raise ParseError("bucket is not needed")
        text, bucket_text = text[:bucket_at], text[bucket_at:]
    for name, value, _pos in iter_kv(text):
        if name == "group_id":
            if value == "all":
                group_id = OFPG_ALL
            else:
                group_id = str_to_u32(value)
                if group_id != OFPG_ALL and group_id > OFPG_MAX:
                    raise ParseError(f"invalid group id {group_id}")
        elif name == "type":
            if not typed:
                raise ParseError("type is not needed")
            gtype = _GROUP_TYPES.get(value)
            if gtype is None:
                raise ParseError(f"invalid group type {value}")
        elif name == "selection_method":
            if not typed:
                raise ParseError("selection method is not needed")
            if len(value) >= 16:
                raise ParseError("selection method is longer than 15 bytes long")
            method = value
        elif name in ("selection_method_param", "fields", "command_bucket_id"):
            raise ParseError(f"{name} is not supported")
        else:
            raise ParseError(f"unknown keyword {name}")
    if group_id == OFPG_ANY:
        raise ParseError("must specify a group_id")
    if typed and gtype is None:
        raise ParseError("must specify a type")
    gtype = gtype or GroupType.ALL
    buckets = []
    for i, chunk in enumerate(bucket_text.split("bucket=")[1:]):
        bucket = _parse_bucket(chunk, gtype, i, port_map)
        if gtype is not GroupType.SELECT and bucket.weight:
            raise ParseError("Only select groups can have bucket weights.")
        buckets.append(bucket)
    if gtype is GroupType.INDIRECT and len(buckets) > 1:
        raise ParseError("Indirect groups can have at most one bucket.")
    return GroupMod(command=command, group_id=group_id, type=gtype, buckets=tuple(buckets),
                    selection_method=method)


def _parse_bucket(text: str, gtype: GroupType, index: int,
                  port_map: PortMap | None) -> Bucket:
    weight = 1 if gtype is GroupType.SELECT else 0
    watch_port = watch_group = 0xFFFFFFFF
    bucket_id = index
    actions: list[str] = []
    for key, value, _pos in iter_kv(text):
        k = key.lower()
        if k == "weight":
            weight = str_to_u16(value, "weight")
        elif k == "watch_port":
            port = parse_port(value, port_map)
            if port is None or (port >= OFPP_MAX and port not in (OFPP_NONE,
                                                                   OFPP_CONTROLLER)):
                raise ParseError(f"{value}: invalid watch_port")
            watch_port = ofp_port_to_of13(port) if port != OFPP_NONE else 0xFFFFFFFF
        elif k == "watch_group":
            watch_group = str_to_u32(value)
            if watch_group > OFPG_MAX:
                raise ParseError(f"invalid watch_group id {watch_group}")
        elif k == "bucket_id":
            bucket_id = str_to_u32(value)
            if bucket_id > 0xFFFFFF00:
                raise ParseError(f"invalid bucket_id id {bucket_id}")
        elif k in ("action", "actions"):
            actions.append(value)
        else:
            actions.append(f"{key}({value})" if value else key)
    if not actions:
        raise ParseError("bucket must specify actions")
    if gtype is GroupType.FF and watch_port == 0xFFFFFFFF and watch_group == 0xFFFFFFFF:
        raise ParseError("fast failover bucket requires watch_port or watch_group")
    acts = parse_actions(",".join(actions), port_map, allow_instructions=False)
    return Bucket(actions=acts, weight=weight, watch_port=watch_port,
                  watch_group=watch_group, bucket_id=bucket_id)


def format_group_desc(desc: GroupDesc, *, show_bucket_ids: bool = False,
                      port_names: PortNames | None = None) -> str:
    """One ``dump-groups`` line, with its leading space.

    ``show_bucket_ids`` is what OpenFlow 1.0 (Nicira) and 1.5+ replies print.
    """
    out = [f" group_id={desc.group_id},type={desc.type.name.lower()}"]
    if desc.selection_method:
        out.append(f",selection_method={desc.selection_method}")
    out.append(",")
    default_weight = 1 if desc.type is GroupType.SELECT else 0
    for b in desc.buckets:
        out.append("bucket=")
        if show_bucket_ids:
            out.append(f"bucket_id:{b.bucket_id},")
        if b.weight != default_weight:
            out.append(f"weight:{b.weight},")
        if b.watch_port not in (0xFFFFFFFF, OFPP_NONE):
            out.append(f"watch_port:{format_port(ofp_port_from_of13(b.watch_port), port_names)},")
        if b.watch_group != OFPG_ANY:
            out.append(f"watch_group:{b.watch_group},")
        out.append(f"actions={format_actions(b.actions, port_names)},")
    return "".join(out).rstrip(",")
