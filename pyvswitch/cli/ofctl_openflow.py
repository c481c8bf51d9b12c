"""``pyvs-ofctl`` over OpenFlow: the bridge's ``<br>.mgmt`` socket (or ``unix:PATH`` /
``tcp:IP:PORT``), spoken the way ``ovs-ofctl`` speaks it.

:class:`OpenFlowBackend` runs a command as ovs-ofctl does -- the same connections
(name lookups first: FEATURES or PORT_DESC for port names, table statistics or
TABLE_FEATURES for table names), the same requests in the same order, transaction ids
counted across the whole process -- so its output, reply headers and xids included,
is what ``ovs-ofctl`` prints against the same switch.  Differences, on purpose:

* ``add-flows``/``replace-flows`` send their flow_mods in one atomic bundle (OpenFlow
  1.4, or the ONF extension when only 1.3 is allowed), so a file the switch refuses in
  part installs nothing -- as pyvs-ofctl promises; parse errors never send anything;
* a refusal is one line: ``pyvs-ofctl: OFPT_ERROR (xid=0x6): OFPBMC_BAD_PREREQ: FLOW``.

Layer: cli (sockets).  Imports: openflow, flow text, errors, cli.common.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from pyvswitch.cli.common import Fatal, paths
from pyvswitch.cli.ofctl_openflow_print import (
    format_aggregate,
    format_features,
    format_port_stats,
    format_tables,
    reply_name,
)
from pyvswitch.daemon.cmd_trace import eth_from_hex
from pyvswitch.daemon.ofctl_text import flow_error
from pyvswitch.errors import OFPError, ParseError, RemoteProtocolError
from pyvswitch.flow.actions_text import parse_actions
from pyvswitch.flow.flow_text import (
    format_flow_stats,
    format_group_desc,
    parse_flow_mod,
    parse_flow_mods,
    parse_group_mod,
)
from pyvswitch.flow.flowmod import FlowMod, FlowModCommand, GroupModCommand
from pyvswitch.flow.values import parse_port
from pyvswitch.ofproto.validate import check_actions
from pyvswitch.openflow import messages as M
from pyvswitch.openflow.connection import (
    NEED_DATA,
    ConnectionClosed,
    MessageReceived,
    MessageRejected,
    NegotiationFailed,
    OFConnection,
    VersionNegotiated,
)
from pyvswitch.openflow.consts import (
    NXFF_NXM,
    OFP10_VERSION,
    OFP13_VERSION,
    OFP14_VERSION,
    OFPBCT_COMMIT_REQUEST,
    OFPBCT_OPEN_REQUEST,
    OFPBF_ATOMIC,
    OFPBF_ORDERED,
)
from pyvswitch.openflow.multipart import merge_replies
from pyvswitch.types import OFPG_ALL, OFPP_CONTROLLER, OFPP_NONE

__all__ = ["OFClient", "OpenFlowBackend", "resolve_target"]

_VERSION_WORDS = {"openflow10": OFP10_VERSION, "openflow13": OFP13_VERSION,
                  "openflow14": OFP14_VERSION}
#: every version ovs-ofctl knows by name (1.1, 1.2 and 1.5 are not spoken here)
_ALL_VERSION_WORDS = {f"openflow1{n}" for n in range(6)}
_BUNDLE = OFPBF_ATOMIC | OFPBF_ORDERED


class _Xids:
    """ovs-ofctl numbers every message it sends, HELLOs included, across connections."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def resolve_target(name: str) -> tuple[str, str | tuple[str, int]]:
    """``(family, address)`` for a bridge name, ``unix:PATH``, ``tcp:IP[:PORT]`` or a
    socket file path."""
    if name.startswith("unix:"):
        return "unix", name[5:]
    if name.startswith("tcp:"):
        host, _, port = name[4:].rpartition(":") if name.count(":") > 1 else (name[4:], "", "")
        host = host.strip("[]")
        return ("tcp6" if ":" in host else "tcp"), (host, int(port or 6653))
    if "/" in name:
        return "unix", name
    path = paths().mgmt(name)
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            return "unix", path
    except OSError:
        pass
    raise Fatal(f"{name} is not a bridge or a socket")


class OFClient:
    """A blocking OpenFlow connection with ovs-ofctl's transaction-id numbering."""

    def __init__(self, target: str, versions: frozenset[int], xids: _Xids,
                 timeout: float | None = None) -> None:
        family, addr = resolve_target(target)
        fam = {"unix": socket.AF_UNIX, "tcp": socket.AF_INET, "tcp6": socket.AF_INET6}[family]
        self.target = target
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(addr)
        except OSError as exc:
            self.sock.close()
            raise Fatal(f"{target}: failed to connect to socket "
                        f"({exc.strerror or exc})") from None
        self.xids = xids
        self.conn = OFConnection("controller", versions, hello_xid=xids.next())
        self._pending: list[tuple[object, int, bytes]] = []
        self.sock.sendall(self.conn.initiate())
        while self.conn.version is None:
            self._read()

    @property
    def version(self) -> int:
        return self.conn.version or 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> OFClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ I/O
    def _read(self) -> None:
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise Fatal(f"{self.target}: transaction timed out", 2) from None
        except OSError as exc:
            raise Fatal(f"{self.target}: receive failed ({exc.strerror or exc})") from None
        try:
            self.conn.receive_data(data)
            while True:
                ev = self.conn.next_event()
                if ev is NEED_DATA:
                    break
                if isinstance(ev, MessageReceived):
                    self._pending.append((ev.msg, ev.xid, ev.data))
                elif isinstance(ev, NegotiationFailed):
                    raise Fatal(f"{self.target}: failed to connect to socket "
                                f"(Protocol error: {ev.reason})")
                elif isinstance(ev, ConnectionClosed):
                    raise Fatal(f"{self.target}: connection closed by the switch")
                elif isinstance(ev, (VersionNegotiated, MessageRejected)):
                    continue
        except RemoteProtocolError as exc:
            raise Fatal(f"{self.target}: protocol error ({exc})") from None
        out = self.conn.data_to_send()
        if out:
            self.sock.sendall(out)

    def send(self, msg: object) -> int:
        xid = self.xids.next()
        self.sock.sendall(self.conn.send(msg, xid))
        return xid

    def wait(self, xid: int, skip_body: bool = False) -> list[object]:
        """Every message received with ``xid`` until the last part of its reply (an
        error ends it too).  ``skip_body`` drops replies without decoding them."""
        got: list[object] = []
        while True:
            for i, (msg, x, _raw) in enumerate(self._pending):
                if x != xid:
                    continue
                del self._pending[i]
                got.append(msg)
                if isinstance(msg, M.Error) or not getattr(msg, "more", False):
                    return got
                break
            else:
                self._read()

    def request(self, msg: object) -> object:
        """Send a request; its reply (multipart parts merged); OFPT_ERROR raises."""
        xid = self.send(msg)
        parts = self.wait(xid)
        if isinstance(parts[-1], M.Error):
            raise SwitchRefused(parts[-1], xid, "")
        return merge_replies(parts) if len(parts) > 1 else parts[0]

    def barrier(self) -> list[tuple[int, M.Error]]:
        """A barrier; the errors received before its reply, with their xids."""
        xid = self.send(M.BarrierRequest())
        errors = []
        while True:
            for i, (msg, x, _raw) in enumerate(self._pending):
                if isinstance(msg, M.Error):
                    del self._pending[i]
                    errors.append((x, msg))
                    break
                if x == xid:
                    del self._pending[i]
                    return errors
            else:
                self._read()


class SwitchRefused(Fatal):
    """The switch answered with OFPT_ERROR."""

    def __init__(self, err: M.Error, xid: int, what: str) -> None:
        name = err.name or f"type {err.type} code {err.code}"
        text = f"OFPT_ERROR (xid={xid:#x}): {name}"
        super().__init__(f"{text}: {what}" if what else text)


class OpenFlowBackend:
    """pyvs-ofctl's :class:`~pyvswitch.cli.ofctl.Backend` over OpenFlow."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.xids = _Xids()

    # ------------------------------------------------------------------ helpers
    def _versions(self, options: list[str], target: str = "") -> frozenset[int]:
        versions: set[int] = set()
        for opt in options:
            if opt.startswith("--protocols="):
                for word in opt.split("=", 1)[1].split(","):
                    key = word.strip().lower()
                    if key not in _ALL_VERSION_WORDS:
                        raise Fatal(f'Unknown OpenFlow version: "{word.strip()}"')
                    if key in _VERSION_WORDS:
                        versions.add(_VERSION_WORDS[key])
        if not versions and any(o.startswith("--protocols=") for o in options):
            # only versions we do not speak: the handshake would fail, as ovs-ofctl's does
            raise Fatal(f"{target}: failed to connect to socket (Protocol error)")
        if not versions:
            versions = {OFP14_VERSION} if "--bundle" in options else {OFP10_VERSION}
        return frozenset(versions)

    def _open(self, target: str, versions: frozenset[int]) -> OFClient:
        return OFClient(target, versions, self.xids, self.timeout)

    def _port_map(self, target: str, versions: frozenset[int]) -> dict[str, int]:
        """The port-name lookup ovs-ofctl makes on a connection of its own."""
        with self._open(target, versions) as c:
            if c.version == OFP10_VERSION:
                ports = c.request(M.FeaturesRequest()).ports
            else:
                ports = c.request(M.PortDescRequest()).ports
        return {p.name: p.port_no for p in ports}

    def _table_lookup(self, target: str, versions: frozenset[int]) -> None:
        """The table-name lookup (its answer is not needed: tables have no names)."""
        with self._open(target, versions) as c:
            if c.version == OFP10_VERSION:
                c.request(M.TableStatsRequest())
            else:
                c.wait(c.send(M.TableFeaturesRequest()), skip_body=True)

    def _lookups(self, target: str, versions: frozenset[int], port_first: bool
                 ) -> dict[str, int]:
        if port_first:
            pm = self._port_map(target, versions)
            self._table_lookup(target, versions)
        else:
            self._table_lookup(target, versions)
            pm = self._port_map(target, versions)
        return pm

    @staticmethod
    def _has(options: list[str], word: str) -> bool:
        return word in options

    # ------------------------------------------------------------------ entry point
    def run(self, command: str, bridge: str, options: list[str], args: list[str]) -> str:
        versions = self._versions(options, bridge)
        fn = getattr(self, "c_" + command.replace("-", "_"), None)
        if fn is None:
            raise Fatal(f"unknown command '{command}'; use --help for help")
        try:
            return fn(bridge, versions, options, args)
        except ParseError as exc:
            raise Fatal(flow_error(exc)) from None
        except OFPError as exc:
            raise Fatal(exc.msg) from None

    # ------------------------------------------------------------------ dumps
    def c_show(self, target: str, versions, options, args) -> str:
        with self._open(target, versions) as c:
            fx = c.xids.n + 1
            features = c.request(M.FeaturesRequest())
            ports = features.ports
            px = None
            if c.version != OFP10_VERSION:
                px = c.xids.n + 1
                ports = c.request(M.PortDescRequest()).ports
            version = c.version
        with self._open(target, versions) as c:
            cx = c.xids.n + 1
            config = c.request(M.GetConfigRequest())
        return format_features(version, fx, features, px, ports, cx, config)

    def _flow_request(self, target: str, versions, options, args, cls) -> tuple:
        flt = args[0] if args else None
        pm = self._lookups(target, versions, port_first=True) if flt is not None else {}
        fm = _parsed(parse_flow_mod, flt or "", FlowModCommand.DELETE, pm)
        c = self._open(target, versions)
        try:
            nx = c.version == OFP10_VERSION
            if nx:
                c.send(M.SetFlowFormat(NXFF_NXM))
                errs = c.barrier()
                if errs:
                    raise SwitchRefused(errs[0][1], errs[0][0], "set flow format")
            xid = c.xids.n + 1
            reply = c.request(cls(match=fm.match, table_id=0xFF if fm.table_id is None
                                  else fm.table_id, out_port=fm.out_port,
                                  out_group=fm.out_group, cookie=fm.cookie,
                                  cookie_mask=fm.cookie_mask, nx=nx))
            return reply, xid, c.version, pm
        finally:
            c.close()

    def c_dump_flows(self, target: str, versions, options, args) -> str:
        reply, xid, version, pm = self._flow_request(target, versions, options, args,
                                                     M.FlowStatsRequest)
        names = self._has(options, "--names")
        stats = not self._has(options, "--no-stats")
        sort = self._has(options, "--sort") or self._has(options, "--rsort")
        flows = list(reply.flows)
        plain = not names and stats and not sort
        if not plain:
            # ovs-ofctl reads these dumps without the Nicira age extension: no ages
            flows = [replace(f, idle_age=None, hard_age=None) for f in flows]
        if sort:
            flows.sort(key=lambda f: f.priority, reverse=self._has(options, "--rsort"))
        port_names = {v: k for k, v in pm.items()} if names else None
        if names and not port_names:
            port_names = {v: k for k, v in self._port_map(target, versions).items()}
        lines = [format_flow_stats(f, show_stats=stats, port_names=port_names)
                 for f in flows]
        if plain:
            lines.insert(0, f"{reply_name(version, 'NXST_FLOW', 'OFPST_FLOW')} "
                            f"(xid={xid:#x}):")
        return "".join(line + "\n" for line in lines)

    def c_dump_aggregate(self, target: str, versions, options, args) -> str:
        reply, xid, version, _pm = self._flow_request(target, versions, options, args,
                                                      M.AggregateStatsRequest)
        return format_aggregate(version, xid, reply)

    def c_dump_ports(self, target: str, versions, options, args) -> str:
        port = OFPP_NONE
        if args:
            pm = {} if args[0].isdigit() else self._port_map(target, versions)
            try:
                p = parse_port(args[0], pm)
            except ParseError:
                p = None
            if p is None:
                raise Fatal(f"{target}: unknown port `{args[0]}'")
            port = p
        with self._open(target, versions) as c:
            xid = c.xids.n + 1
            reply = c.request(M.PortStatsRequest(port))
            return format_port_stats(c.version, xid, reply)

    def c_dump_tables(self, target: str, versions, options, args) -> str:
        with self._open(target, versions) as c:
            xid = c.xids.n + 1
            return format_tables(c.version, xid, c.request(M.TableStatsRequest()))

    def c_dump_groups(self, target: str, versions, options, args) -> str:
        gid = OFPG_ALL
        if args:
            gm = parse_group_mod(f"group_id={args[0]}", GroupModCommand.DELETE)
            gid = gm.group_id
        with self._open(target, versions) as c:
            xid = c.xids.n + 1
            reply = c.request(M.GroupDescRequest(gid))
            version = c.version
        head = reply_name(version, "NXST_GROUP_DESC", "OFPST_GROUP_DESC")
        lines = [f"{head} (xid={xid:#x}):"]
        lines += [format_group_desc(g, show_bucket_ids=version == OFP10_VERSION)
                  for g in reply.groups]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ changes
    def _transact(self, target: str, versions, fms: Iterable[object],
                  texts: list[str]) -> None:
        """flow_mods (or group_mods, packet-outs) one by one, each followed by a
        barrier, as ovs-ofctl sends them; the first refusal ends the command."""
        with self._open(target, versions) as c:
            if c.version == OFP10_VERSION:
                c.send(M.SetFlowFormat(NXFF_NXM))
                c.send(M.FlowModTableId(True))
                c.barrier()
            for i, msg in enumerate(fms):
                xid = c.send(msg)
                errs = c.barrier()
                if errs:
                    raise SwitchRefused(errs[0][1], xid, texts[i] if i < len(texts) else "")

    def _bundle(self, target: str, versions, fms: list[FlowMod], texts: list[str]) -> None:
        """All flow_mods in one atomic bundle (1.4, or ONF's in 1.3)."""
        usable = versions & {OFP13_VERSION, OFP14_VERSION} or {OFP13_VERSION, OFP14_VERSION}
        with self._open(target, frozenset(usable)) as c:
            c.request(M.BundleControl(1, OFPBCT_OPEN_REQUEST, _BUNDLE))
            xids = []
            for fm in fms:
                xid = c.xids.next()
                inner = c.conn.send(fm, xid)
                c.sock.sendall(c.conn.send(M.BundleAdd(1, inner, _BUNDLE), xid))
                xids.append(xid)
            errs = c.barrier()
            if errs:
                x, err = errs[0]
                raise SwitchRefused(err, x, texts[xids.index(x)] if x in xids else "")
            xid = c.send(M.BundleControl(1, OFPBCT_COMMIT_REQUEST, _BUNDLE))
            parts = c.wait(xid)
            errs = [(x, m) for m, x, _ in c._pending if isinstance(m, M.Error)]
            if isinstance(parts[-1], M.Error):
                x, err = errs[0] if errs else (xid, parts[-1])
                raise SwitchRefused(err, x, texts[xids.index(x)] if x in xids else "")

    def _flow_mods(self, target, versions, options, texts, command, source=None):
        pm = self._lookups(target, versions, port_first=False)
        if source is not None:
            try:
                fms = parse_flow_mods(texts, command, pm, source=source)
            except ParseError as exc:
                raise Fatal(flow_error(exc)) from None
            numbered = [(n, t) for n, t in enumerate(texts, 1)
                        if t.split("#", 1)[0].strip(" \t\n\r")]
            texts = [t for _, t in numbered]
            where = [f"{source}:{n}: " for n, _ in numbered]
        else:
            fms = [_parsed(parse_flow_mod, t, command, pm) for t in texts]
            where = [""] * len(fms)
        for fm, prefix in zip(fms, where):
            _check_actions_as_ofctl(fm, prefix)
        return fms, texts

    def c_add_flow(self, target: str, versions, options, args) -> str:
        fms, texts = self._flow_mods(target, versions, options, args, FlowModCommand.ADD)
        self._transact(target, versions, fms, texts)
        return ""

    def c_add_flows(self, target: str, versions, options, args) -> str:
        source = next((o.split("=", 1)[1] for o in options if o.startswith("--source=")), "-")
        fms, texts = self._flow_mods(target, versions, options, args, FlowModCommand.ADD,
                                     source)
        if fms:
            self._bundle(target, versions, fms, texts)
        return ""

    def c_mod_flows(self, target: str, versions, options, args) -> str:
        cmd = FlowModCommand.MODIFY_STRICT if "--strict" in options else FlowModCommand.MODIFY
        fms, texts = self._flow_mods(target, versions, options, args, cmd)
        self._transact(target, versions, fms, texts)
        return ""

    def c_del_flows(self, target: str, versions, options, args) -> str:
        cmd = FlowModCommand.DELETE_STRICT if "--strict" in options else FlowModCommand.DELETE
        fms, texts = self._flow_mods(target, versions, options, args or [""], cmd)
        self._transact(target, versions, fms, texts)
        return ""

    def c_replace_flows(self, target: str, versions, options, args) -> str:
        source = next((o.split("=", 1)[1] for o in options if o.startswith("--source=")), "-")
        wanted, _ = self._flow_mods(target, versions, options, args, FlowModCommand.ADD,
                                    source)
        with self._open(target, frozenset({OFP13_VERSION, OFP14_VERSION})) as c:
            have = c.request(M.FlowStatsRequest()).flows
        plan = replace_plan(have, wanted)
        if plan:
            self._bundle(target, versions, plan, [])
        return ""

    def _group_mods(self, target, versions, options, args, command) -> str:
        self._lookups(target, versions, port_first=False)
        texts = args or ([""] if command is GroupModCommand.DELETE else [])
        gms = [_parsed(parse_group_mod, t or "group_id=all", command) for t in texts]
        with self._open(target, frozenset({OFP13_VERSION, OFP14_VERSION}) | versions) as c:
            for gm, text in zip(gms, texts):
                xid = c.send(gm)
                errs = c.barrier()
                if errs:
                    raise SwitchRefused(errs[0][1], xid, text)
        return ""

    def c_add_group(self, target, versions, options, args) -> str:
        return self._group_mods(target, versions, options, args, GroupModCommand.ADD)

    def c_add_groups(self, target, versions, options, args) -> str:
        texts = [t for t in args if t.strip() and not t.lstrip().startswith("#")]
        return self._group_mods(target, versions, options, texts, GroupModCommand.ADD)

    def c_mod_group(self, target, versions, options, args) -> str:
        return self._group_mods(target, versions, options, args, GroupModCommand.MODIFY)

    def c_del_groups(self, target, versions, options, args) -> str:
        return self._group_mods(target, versions, options, args, GroupModCommand.DELETE)

    def c_packet_out(self, target: str, versions, options, args) -> str:
        pm = self._lookups(target, versions, port_first=False)
        in_text, actions_text, packets = args[0], args[1], args[2:]
        try:
            in_port = OFPP_CONTROLLER if in_text.upper() in ("CONTROLLER", "NONE") \
                else parse_port(in_text, pm)
        except ParseError:
            in_port = None
        if in_port is None:
            raise Fatal(f"{target}: unknown port `{in_text}'")
        actions = _parsed(parse_actions, actions_text, pm)
        frames = []
        for hexstr in packets:
            try:
                frames.append(eth_from_hex(hexstr))
            except ValueError as exc:
                raise Fatal(str(exc)) from None
        pos = [M.PacketOut(tuple(actions), f, in_port) for f in frames]
        self._transact(target, versions, pos, [actions_text] * len(pos))
        return ""


#: the refusals of OVS's ofpacts_check, which ovs-ofctl runs before sending a flow
_CLIENT_CHECKS = frozenset({"OFPBIC_BAD_TABLE_ID", "OFPBAC_BAD_OUT_PORT",
                            "OFPBAC_MATCH_INCONSISTENT", "OFPBAC_BAD_SET_LEN", "OFPBAC_BAD_TAG",
                            "OFPBAC_BAD_OUT_GROUP"})


def _check_actions_as_ofctl(fm: FlowMod, prefix: str = "") -> None:
    """ovs-ofctl checks a flow's actions against its match and table before sending it:
    OpenFlow 1.0 has no way to carry some mistakes to the switch (a ``goto_table``
    backwards travels as ``resubmit``), so they must be caught here."""
    if fm.command in (FlowModCommand.DELETE, FlowModCommand.DELETE_STRICT):
        return
    try:
        check_actions(tuple(fm.actions), fm.match, table_id=fm.table_id)
    except OFPError as exc:
        if exc.name in _CLIENT_CHECKS:
            raise Fatal(f"{prefix}actions are invalid with specified match ({exc.name})"
                        ) from None
        # what OVS finds only when decoding (ct without commit...) is the switch's to say


def _parsed(fn: Callable[..., Any], text: str, *args: object) -> Any:
    """``fn(text, *args)``; a ParseError becomes one line naming ``text``."""
    try:
        return fn(text, *args)
    except ParseError as exc:
        raise Fatal(flow_error(exc, text)) from None


def replace_plan(have: Iterable[M.FlowStats] | Iterable[object],
                 wanted: list[FlowMod]) -> list[FlowMod]:
    """The flow_mods that make the tables exactly ``wanted`` (ovs-ofctl
    replace-flows): delete what is not wanted, add what is new or different, leave
    identical flows (and their counters) alone."""
    current = {(f.table_id, f.priority, f.match): f for f in have}
    plan: list[FlowMod] = []
    keep = set()
    for fm in wanted:
        key = (fm.table_id or 0, fm.priority, fm.match)
        keep.add(key)
        f = current.get(key)
        if (f is not None and tuple(f.actions) == tuple(fm.actions)
                and f.cookie == (fm.new_cookie if fm.new_cookie is not None else fm.cookie)
                and f.idle_timeout == fm.idle_timeout and f.hard_timeout == fm.hard_timeout):
            continue
        plan.append(fm)
    for key, f in current.items():
        if key not in keep:
            plan.insert(0, FlowMod(command=FlowModCommand.DELETE_STRICT, match=f.match,
                                   priority=f.priority, table_id=f.table_id))
    return plan


def main(argv: list[str] | None = None) -> int:
    """``pyvs-ofctl`` forced onto OpenFlow, whatever ``PYVS_OFCTL_TRANSPORT`` says
    (``python -m pyvswitch.cli.ofctl_openflow ...``)."""
    from pyvswitch.cli import ofctl

    argv = sys.argv[1:] if argv is None else argv
    return ofctl.main(argv, backend=OpenFlowBackend())


if __name__ == "__main__":
    raise SystemExit(main())
