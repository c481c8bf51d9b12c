"""ConfigStore: atomic save, corrupt files reported and never overwritten, transactions
all-or-nothing; the JSON form and its validation; OpenFlow port assignment."""

import json
import os

import pytest

from pyvswitch.config.model import Config, assign_ofports, config_from_json, config_to_json
from pyvswitch.config.store import ConfigStore, default_path
from pyvswitch.config.vsctl import VsctlExit, execute, parse_commands
from pyvswitch.errors import ConfigError
from pyvswitch.types import OFPP_LOCAL


def run(store: ConfigStore, line: str) -> list[str]:
    return store.transact(parse_commands(line.split()))


def test_missing_file_is_empty_and_first_save_creates_it(tmp_path):
    path = tmp_path / "db" / "conf.json"
    store = ConfigStore(str(path))
    assert store.load().bridges == {}
    run(store, "add-br br0")
    assert path.exists()
    assert not [p for p in path.parent.iterdir() if p.name != "conf.json"], "temp file left"
    again = ConfigStore(str(path))
    cfg = again.load()
    assert list(cfg.bridges) == ["br0"]
    assert cfg.interfaces["br0"].type == "internal"
    assert cfg.uuid == store.config.uuid


def test_roundtrip_keeps_everything(tmp_path):
    store = ConfigStore(str(tmp_path / "conf.json"))
    store.load()
    run(store, "add-br br0 -- set-controller br0 tcp:127.0.0.1:6653 -- set-fail-mode br0 secure")
    store.transact(
        parse_commands(
            [
                "add-port",
                "br0",
                "p1",
                "tag=5",
                "--",
                "set",
                "Interface",
                "p1",
                "type=pcap",
                "options:rx=/tmp/in.pcap",
                "ofport_request=7",
                "mtu_request=9000",
                "--",
                "set",
                "Bridge",
                "br0",
                "other_config:datapath-id=0000000000000001",
                "protocols=OpenFlow13",
            ]
        )
    )
    before = store.config
    after = ConfigStore(store.path).load()
    assert after == before
    assert config_from_json(json.loads(json.dumps(config_to_json(before)))) == before


def test_error_is_not_saved_but_ofport_is(tmp_path):
    store = ConfigStore(str(tmp_path / "conf.json"))
    store.load()
    run(store, "add-br br0 -- add-port br0 p1")
    cfg = store.config.copy()
    cfg.interfaces["p1"].error = "could not open network device p1 (No such device)"
    assign_ofports(cfg, "br0")
    store.save(cfg)
    loaded = ConfigStore(store.path).load()
    assert loaded.interfaces["p1"].ofport == 1
    assert loaded.interfaces["p1"].error is None


def test_failed_transaction_leaves_file_untouched(tmp_path):
    store = ConfigStore(str(tmp_path / "conf.json"))
    store.load()
    run(store, "add-br br0")
    raw = open(store.path, "rb").read()
    with pytest.raises(ConfigError, match="no bridge named br9"):
        run(store, "add-br br1 -- add-port br9 p1")
    assert open(store.path, "rb").read() == raw
    assert list(store.config.bridges) == ["br0"]
    with pytest.raises(VsctlExit) as e:
        run(store, "add-br br2 -- br-exists br9")
    assert e.value.status == 2
    assert list(ConfigStore(store.path).load().bridges) == ["br0"]


def test_read_only_commands_do_not_write(tmp_path):
    store = ConfigStore(str(tmp_path / "conf.json"))
    store.load()
    run(store, "add-br br0")
    mtime = os.stat(store.path).st_mtime_ns
    assert run(store, "list-br -- --may-exist add-br br0") == ["br0\n", ""]
    assert os.stat(store.path).st_mtime_ns == mtime


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"{not json", "invalid JSON: Expecting property name enclosed in double quotes at line 1"),
        (b"\xff\xfe", "not UTF-8 text"),
        (b"[]", "top level must be a JSON object"),
        (b'{"format":"pyvswitch-config","version":2}', "unsupported version 2"),
        (b'{"format":"other","version":1}', '"format" must be "pyvswitch-config"'),
        (
            b'{"format":"pyvswitch-config","version":1,"bridges":[{"name":"br0","fail_mode":"x"}]}',
            "bridges[0] (Bridge br0): column fail_mode: constraint violation: x is not one of",
        ),
        (
            b'{"format":"pyvswitch-config","version":1,"bridges":[{"name":"br0","bogus":1}]}',
            'bridges[0] (Bridge br0): unknown column "bogus"',
        ),
        (
            b'{"format":"pyvswitch-config","version":1,"bridges":[{"name":"br0","ports":'
            b'[{"name":"p1","interfaces":[{"name":"p1","ofport_request":"5"}]}]}]}',
            "bridges[0].ports[0].interfaces[0] (Interface p1): column ofport_request must hold "
            "integer values",
        ),
        (
            b'{"format":"pyvswitch-config","version":1,"bridges":[{"name":"br0","ports":'
            b'[{"name":"p1","interfaces":[]}]}]}',
            "a port needs at least one interface",
        ),
        (
            b'{"format":"pyvswitch-config","version":1,"bridges":[{"name":"a","ports":'
            b'[{"name":"p","interfaces":[{"name":"p"}]}]},{"name":"b","ports":'
            b'[{"name":"p","interfaces":[{"name":"q"}]}]}]}',
            "duplicate port name p",
        ),
        (
            b'{"format":"pyvswitch-config","version":1,"bridges":[{"name":"br0","ports":'
            b'[{"name":"p1","interfaces":[{"name":"p1","type":"vxlan"}]}]}]}',
            "vxlan is not one of the allowed values",
        ),
    ],
)
def test_corrupt_file_is_reported_and_never_overwritten(tmp_path, content, reason):
    path = tmp_path / "conf.json"
    path.write_bytes(content)
    store = ConfigStore(str(path))
    with pytest.raises(ConfigError) as e:
        store.load()
    msg = str(e.value)
    assert msg.startswith(f"{path}: ")
    assert reason in msg
    assert store.corrupt is not None
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        store.save(Config())
    with pytest.raises(ConfigError, match=str(path)):
        run(store, "add-br br0")
    assert path.read_bytes() == content
    # once the user repairs it, the store works again
    path.write_text('{"format":"pyvswitch-config","version":1}')
    run(store, "add-br br0")
    assert store.corrupt is None
    assert list(ConfigStore(str(path)).load().bridges) == ["br0"]


def test_concurrent_writer_is_noticed(tmp_path):
    a = ConfigStore(str(tmp_path / "conf.json"))
    b = ConfigStore(str(tmp_path / "conf.json"))
    a.load()
    b.load()
    run(a, "add-br br0")
    stale = b.config.copy()
    with pytest.raises(ConfigError, match="changed on disk"):
        b.save(stale)
    # transact re-reads, so b's edit lands on top of a's
    run(b, "add-br br1")
    assert sorted(ConfigStore(a.path).load().bridges) == ["br0", "br1"]


def test_save_failure_cleans_up(tmp_path, monkeypatch):
    store = ConfigStore(str(tmp_path / "conf.json"))
    store.load()
    run(store, "add-br br0")
    raw = open(store.path, "rb").read()

    def no_rename(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", no_rename)
    with pytest.raises(ConfigError, match=r"conf.json: cannot save: Permission denied"):
        run(store, "add-br br1")
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf.json"]  # temp file removed
    assert open(store.path, "rb").read() == raw
    assert list(store.config.bridges) == ["br0"]


def test_default_path():
    assert default_path({"PYVS_DBDIR": "/x"}) == "/x/conf.json"
    if os.geteuid() == 0:
        assert default_path({}) == "/etc/pyvswitch/conf.json"


def test_assign_ofports():
    cfg, _, _ = execute(
        Config(),
        parse_commands(
            "add-br br0 -- add-port br0 a -- add-port br0 b -- add-port br0 c "
            "-- set Interface c ofport_request=1".split()
        ),
    )
    got = assign_ofports(cfg, "br0")
    assert got == {"br0": OFPP_LOCAL, "c": 1, "a": 2, "b": 3}
    # stable: a new port does not renumber, a freed number is reused lowest-first
    cfg, _, _ = execute(
        cfg, parse_commands("del-port a -- add-port br0 d -- add-port br0 e".split())
    )
    got = assign_ofports(cfg, "br0")
    assert got == {"br0": OFPP_LOCAL, "c": 1, "b": 3, "d": 2, "e": 4}
    # a request takes a number from a port that merely held it before
    cfg, _, _ = execute(cfg, parse_commands("set Interface e ofport_request=3".split()))
    got = assign_ofports(cfg, "br0")
    assert got["e"] == 3 and got["b"] == 4
    assert cfg.interfaces["b"].ofport == 4


def test_show_lists_errors_and_connected_controllers():
    from pyvswitch.config.dbctl import format_show

    cfg, _, _ = execute(
        Config(),
        parse_commands(
            "add-br br0 -- add-port br0 p1 -- set-controller br0 tcp:127.0.0.1:6653".split()
        ),
    )
    cfg.interfaces["p1"].error = "could not open network device p1 (No such device)"
    text = format_show(cfg, ovs_version="0.1.0", connected={("br0", "tcp:127.0.0.1:6653")})
    assert text == (
        f"{cfg.uuid}\n"
        "    Bridge br0\n"
        '        Controller "tcp:127.0.0.1:6653"\n'
        "            is_connected: true\n"
        "        Port br0\n"
        "            Interface br0\n"
        "                type: internal\n"
        "        Port p1\n"
        "            Interface p1\n"
        '                error: "could not open network device p1 (No such device)"\n'
        '    ovs_version: "0.1.0"\n'
    )


@pytest.mark.parametrize(
    "line, msg",
    [
        (
            "add Port p1 tag 3",
            '"add" operation would put 2 values in column tag of table Port '
            "but the maximum number is 1",
        ),
        (
            'remove Interface p1 type ""',
            '"remove" operation would put 0 values in column '
            "type of table Interface but the minimum number is 1",
        ),
        ("add-br v1 br0 5", "VLAN (fake) bridges are not supported"),
        ("set Interface p1 type=vxlan", "vxlan is not one of the allowed values"),
        ("set Interface p1 ofport=3", "cannot modify read-only column ofport in table Interface"),
    ],
)
def test_our_own_refusals(line, msg):
    cfg, _, _ = execute(Config(), parse_commands("add-br br0 -- add-port br0 p1 tag=2".split()))
    with pytest.raises(ConfigError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        execute(cfg, parse_commands(line.split()))
