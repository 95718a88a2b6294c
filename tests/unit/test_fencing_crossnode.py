"""The cross-node fencing test (fencing-node steps, fencing-cluster verdict) against a fake LU.

:class:`FakeLu` answers sg_persist and sg_raw argv lists as an SPC-4 device server does for the
I_T nexus behind each device node: registrations per nexus, one reservation, UNIT ATTENTION for a
preempted nexus, RESERVATION CONFLICT by reservation type (tgt's behaviour in issue 20's table:
SYNCHRONIZE CACHE refused under Write Exclusive, READ under Exclusive Access). Two nodes that
share one nexus (one host initiator) are two devices mapped to the same nexus.
"""


import json

import pytest
from test_fencing_fakes import hexdump, read_keys_data, read_reservation_data

from guestprobe.collect.process import CommandResult
from guestprobe.fencing import proof
from guestprobe.fencing.crossnode import judge as judge_records
from guestprobe.fencing.crossnode import records_of, render_table
from guestprobe.fencing.keys import leftover_run_id, node_keys
from guestprobe.fencing.node import STEPS, Located, NodeRun, NodeStep
from guestprobe.fencing.preflight import TARGET
from guestprobe.fencing.sequence import PrPath

RUN_ID = "a1b2c3d4e5"
LU = "naa.60000000000000000e00000000010001"
WERO, EARO = 5, 6


class FakeLu:
    """One LU's persistent reservations, seen through one device node per node."""

    def __init__(self, nexus_of: "dict[str, str]", sync_checked: bool = True) -> None:
        self.nexus_of = nexus_of  # device -> I_T nexus
        self.keys: "dict[str, int]" = {}  # nexus -> key
        self.holder: "str | None" = None  # nexus
        self.type = 0
        self.unit_attention: "set[str]" = set()
        self.sync_checked = sync_checked  # tgt: True; LIO: False
        self.data_commands: "list[tuple[str, str]]" = []

    def __call__(self, argv, timeout_s) -> "CommandResult":
        device = argv[-11] if argv[0] == "sg_raw" else argv[-1]
        nexus = self.nexus_of[device]
        if nexus in self.unit_attention:
            self.unit_attention.discard(nexus)
            return CommandResult(tuple(argv), 6, stderr=b"Unit attention\n")
        status, out = self._answer(list(argv), nexus)
        return CommandResult(tuple(argv), status, stdout=out)

    def _registrant(self, nexus: str) -> bool:
        return nexus in self.keys

    def _answer(self, argv, nexus):  # noqa: PLR0911, PLR0912
        if argv[0] == "sg_raw":
            opcode = argv[-10]
            assert opcode in ("28", "35"), argv  # nothing else, never a WRITE
            self.data_commands.append((nexus, opcode))
            if self.holder is None or self.holder == nexus or self._registrant(nexus):
                return 0, b""
            if opcode == "35" and (self.sync_checked or self.type == EARO):
                return 24, b""
            return (24, b"") if self.type == EARO else (0, b"")
        if "--in" in argv:
            if "--read-keys" in argv:
                return 0, hexdump(read_keys_data(sorted(self.keys.values())))
            key = self.keys.get(self.holder) if self.holder else None
            return 0, hexdump(read_reservation_data(key, self.type))
        opts = dict(a.split("=", 1) for a in argv if "=" in a)
        rk = int(opts.get("--param-rk", "0"), 16)
        sark = int(opts.get("--param-sark", "0"), 16)
        mine = self.keys.get(nexus)
        if "--register" in argv:
            if mine is None and rk:
                return 24, b""
            if mine is not None and rk != mine:
                return 24, b""
            if sark == 0:
                self.keys.pop(nexus, None)
                if self.holder == nexus:
                    self.holder, self.type = None, 0
            else:
                self.keys[nexus] = sark
            return 0, b""
        if mine is None or rk != mine:
            return 24, b""
        prtype = int(opts.get("--prout-type", "0"))
        if "--reserve" in argv:
            if self.holder not in (None, nexus):
                return 24, b""
            if self.holder == nexus and self.type != prtype:
                return 24, b""
            self.holder, self.type = nexus, prtype
            return 0, b""
        if "--release" in argv:
            if self.holder == nexus:
                self.holder, self.type = None, 0
            return 0, b""
        if "--preempt-abort" in argv or "--preempt" in argv:
            for other, key in list(self.keys.items()):
                if key == sark and other != nexus:
                    del self.keys[other]
                    self.unit_attention.add(other)
                    if self.holder == other:
                        self.holder = nexus
            return 0, b""
        return 9, b""


def judge(records: "list[dict]") -> "dict":
    """The cross-node document (JSON) of the records, read as fencing-cluster reads them."""
    return judge_records(records_of(records)).to_dict()


def _steps_for(role_of_node: "dict[int, str]", step: str) -> "list[int]":
    who = {"reserve": "holder", "preempt": "holder", "exclusive": "holder",
           "prove-write": "preempted", "prove-read": "preempted"}  # fmt: skip
    return [n for n, role in role_of_node.items() if who.get(step, role) == role]


def _playbook(lu: "FakeLu", devices: "dict[int, str]", stop_after_failure: bool = True):
    """What fencing.yml does: every step on the nodes it names, cleanup and status always."""
    keys = node_keys(RUN_ID, len(devices))
    records = []
    runs = {n: NodeRun(LU, keys, n, 1, 2) for n in devices}
    failed = False
    for step in STEPS:
        if failed and step not in ("cleanup", "status"):
            continue
        for node in _steps_for({n: r.role for n, r in runs.items()}, step):
            path = PrPath(TARGET, devices[node], devices[node].replace("sg", "sd"), keys.key(node))
            record = NodeStep(step, runs[node], Located(path), runner=lu, timeout_s=5).execute()
            record.host = f"node{node}"
            records.append(json.loads(json.dumps(record.to_dict())))
            failed = failed or (record.status != "pass" and stop_after_failure)
    return records


def test_three_nodes_fence_proven_and_cleaned_up():
    lu = FakeLu({"/dev/sg1": "i1", "/dev/sg2": "i2", "/dev/sg3": "i3"})
    records = _playbook(lu, {1: "/dev/sg1", 2: "/dev/sg2", 3: "/dev/sg3"})
    document = judge(records)
    assert document["verdict"]["code"] == "fencing_proven", document["verdict"]
    assert document["fence_proof"]["result"] == proof.PROVEN
    assert document["fence_proof"]["write_side"] == proof.PROVEN
    assert document["cleanup"] == {"verified": True, "leftovers": []}
    views = list(document["views"].values())
    assert len(views) == 3 and all(v == views[0] for v in views)
    assert len(views[0]["keys"]) == 3 and views[0]["reservation"][1] == WERO
    refused = [r for r in document["rows"] if r["id"] == "proof_read" and r["role"] == "preempted"]
    assert [(r["host"], r["exit_status"], r["status"]) for r in refused] == [
        ("node2", 24, "pass")
    ]
    first_after_preempt = next(r for r in document["rows"] if r["step"] == "prove-write")
    assert first_after_preempt["attempts"] == 2  # the UNIT ATTENTION, then the answer
    assert lu.keys == {} and lu.holder is None
    assert ("i2", "28") in lu.data_commands and ("i1", "28") in lu.data_commands
    assert "fencing_proven" in render_table(judge_records(records_of(records)))


def test_two_nodes_behind_one_host_initiator_cannot_fence_each_other():
    # node 1 and node 2 reach the LU through one I_T nexus: node 2's REGISTER replaces node 1's key
    # (REGISTER from a registered nexus with rk 0 is a conflict here: it never takes)
    lu = FakeLu({"/dev/sg1": "host", "/dev/sg2": "host", "/dev/sg3": "i3"})
    document = judge(_playbook(lu, {1: "/dev/sg1", 2: "/dev/sg2", 3: "/dev/sg3"}))
    assert document["verdict"]["code"] == "nodes_cannot_fence"
    assert document["verdict"]["text"].startswith("REGISTER from node2 got RESERVATION CONFLICT")
    assert lu.keys == {} and lu.holder is None  # cleanup still removed every key


def test_a_shared_nexus_that_reads_through_is_nodes_cannot_fence():
    lu = FakeLu({"/dev/sg1": "i1", "/dev/sg2": "i2", "/dev/sg3": "i3"})
    records = _playbook(lu, {1: "/dev/sg1", 2: "/dev/sg2", 3: "/dev/sg3"})
    for record in records:  # as if node 2's READ had gone through the holder's nexus
        for step in record["steps"]:
            if record["step"] == "prove-read" and step["id"] == "proof_read":
                step["exit_status"], step["status"] = 0, "fail"
        if record["step"] == "prove-read":
            record["status"] = "fail"
    document = judge(records)
    assert document["verdict"]["code"] == "nodes_cannot_fence"
    assert "node2 and node1 cannot fence each other" in document["verdict"]["text"]


def test_lio_answers_the_write_side_good_and_the_read_proof_still_holds():
    lu = FakeLu({"/dev/sg1": "i1", "/dev/sg2": "i2", "/dev/sg3": "i3"}, sync_checked=False)
    document = judge(_playbook(lu, {1: "/dev/sg1", 2: "/dev/sg2", 3: "/dev/sg3"}))
    assert document["verdict"]["code"] == "fencing_proven"
    assert document["fence_proof"]["write_side"] == proof.NOT_CHECKED


def test_a_key_left_behind_gives_the_exact_command_on_the_node_that_owns_it():
    lu = FakeLu({"/dev/sg1": "i1", "/dev/sg2": "i2", "/dev/sg3": "i3"})
    records = [r for r in _playbook(lu, {1: "/dev/sg1", 2: "/dev/sg2", 3: "/dev/sg3"})
               if not (r["step"] == "cleanup" and r["node"] == 3)]  # fmt: skip
    key3 = node_keys(RUN_ID, 3).key(3)
    for record in records:  # node 3's cleanup never ran: its key is still there
        if record["step"] == "status":
            for step in record["steps"]:
                if step["id"] == "read_keys":
                    step["observed"]["keys_hex"] = [f"{key3:016x}"]
    document = judge(records)
    assert document["verdict"]["code"] == "cleanup_incomplete"
    assert document["cleanup"]["leftovers"] == [{
        "host": "node3", "what": f"registration 0x{key3:016x}",
        "commands": [f"sg_persist --out --no-inquiry --register --param-rk=0x{key3:016x} "
                     "--param-sark=0 /dev/sg3"],
    }]  # fmt: skip
    assert f"fencing_run_id={RUN_ID}" in document["verdict"]["text"]


def test_a_refusing_node_is_named_and_the_run_is_refused():
    record = {"kind": "fencing-node", "run_id": RUN_ID, "lu": LU, "node": 3, "nodes": 3,
              "holder": 1, "victim": 2, "host": "node3", "step": "preflight", "steps": [],
              "status": "refused", "refusals": [{"code": "in_use_mounted", "role": "target",
                                                  "text": "/dev/sdb is mounted: /mnt (ext4)"}]}
    document = judge([record])
    assert (document["verdict"]["code"], document["verdict"]["exit_status"]) == ("refused", 10)
    assert "node3: [in_use_mounted]" in document["verdict"]["text"]


def test_node_keys_are_this_tools_and_name_their_node():
    keys = node_keys(RUN_ID, 3)
    assert [hex(k) for k in keys.all()] == [
        "0x6770a1b2c3d4e511", "0x6770a1b2c3d4e512", "0x6770a1b2c3d4e513"
    ]
    assert leftover_run_id(keys.key(2)) == RUN_ID and keys.node_of(keys.key(3)) == 3
    with pytest.raises(ValueError):
        node_keys("xyz", 3)


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"\xff\xfe\n", "not valid JSON"),  # not UTF-8: was an internal error (exit 70)
        (b'{"step": "register", "x": NaN}\n', "NaN is not a JSON number"),  # was accepted
        (b"[1, 2]\n", "not a JSON record"),
        (b"[" * 100 + b"]" * 100 + b"\n", "nested"),
        (b'{"kind": "fencing-node", "step": "read", "node": "2"}\n',
         "node1.jsonl:1.node: a string, expected int"),  # was a traceback deep in the judging
        (b'{"kind": "fencing-node", "step": "read", "node": 2, "steps": [{"id": 7}]}\n',
         "node1.jsonl:1.steps[0].id: an integer, expected str"),
    ],
    ids=["not_utf8", "nan", "not_a_record", "deep", "bad_node", "bad_step"],
)
def test_fencing_cluster_reads_records_as_every_input_is_read(tmp_path, capsys, content, said):
    """One line and exit 8, through the bounded reader (a FIFO or a device is refused too)."""
    from guestprobe import cli

    records = tmp_path / "node1.jsonl"
    records.write_bytes(content)
    with pytest.raises(SystemExit) as exited:
        cli.main(["fencing-cluster", str(records)])
    assert exited.value.code == 8
    err = capsys.readouterr().err
    assert said in err and err.count("\n") == 1


def test_fencing_cluster_refuses_a_fifo_at_once(tmp_path, capsys):
    import os

    from guestprobe import cli

    fifo = tmp_path / "records"
    os.mkfifo(fifo)
    with pytest.raises(SystemExit) as exited:
        cli.main(["fencing-cluster", str(fifo)])
    assert exited.value.code == 8 and "FIFO" in capsys.readouterr().err


def test_a_node_record_reads_back_as_it_was_written():
    """What a node sends is read back, checked, into the same record: nothing lost or renamed."""
    lu = FakeLu({"/dev/sg1": "i1", "/dev/sg2": "i2", "/dev/sg3": "i3"})
    records = _playbook(lu, {1: "/dev/sg1", 2: "/dev/sg2", 3: "/dev/sg3"})
    assert [r.to_dict() for r in records_of(records)] == records
    assert {r.step for r in records_of(records)} == set(STEPS)
