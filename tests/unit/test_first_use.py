"""What a first-time user meets: explain for a reason code, whole command texts in --help,
a domain XML given to report --host, the root message."""


import pytest
from reportpages import EXAMPLES
from test_bundle_cli import run_cli

from guestprobe.cli import common

HOST_XML = EXAMPLES.parent / "tests" / "fixtures" / "host" / "mixed.xml"


def test_explain_takes_a_reason_code_from_a_report(capsys):
    status, out, err = run_cli(capsys, "explain", "reserved_by_other")
    assert status == 0, err
    assert out.startswith("reserved_by_other: pr_fencing (I/O fencing with SCSI-3 PR), case ")
    assert "status: not_usable" in out and "remedies: foreign_holder" in out
    status, out, _ = run_cli(capsys, "explain", "raw_io_denied")  # one code, several rules
    assert status == 0 and out.count("raw_io_denied: ") >= 4
    status, _, err = run_cli(capsys, "explain", "no_such_code")
    assert status == 2 and "no feature or reason code 'no_such_code'" in err


def test_help_gives_each_command_s_first_sentence_whole(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    status, out, _ = run_cli(capsys, "--help")
    assert status == 0
    flat = " ".join(out.split())
    assert "..." not in out.split("Commands:", 1)[1]
    assert "Compare the reports (JSON or bundles) of several cluster nodes, LU by LU." in flat
    assert "Decode and judge a saved report again, with this machine's guestprobe and rules." \
        in flat


def test_a_domain_xml_given_to_report_host_points_at_host_json(capsys):
    status, _, err = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"),
                             "--host", str(HOST_XML))
    assert status == 8, err
    assert f"guestprobe host --xml {HOST_XML} --json -o HOST.json" in err
    assert err.count("\n") == 1


def test_a_domain_xml_given_to_compare_host_points_at_host_json_too(capsys):
    status, _, err = run_cli(capsys, "compare", str(EXAMPLES / "mixed.tar.gz"),
                             str(EXAMPLES / "two-paths.tar.gz"), "--host", str(HOST_XML))
    assert status == 8, err
    assert f"guestprobe host --xml {HOST_XML} --json -o HOST.json" in err


def test_a_fifo_given_as_the_host_file_is_refused_not_waited_on(capsys, tmp_path):
    import os

    fifo = tmp_path / "host.json"
    os.mkfifo(fifo)  # the hint's own read of the file once opened a FIFO and waited
    status, _, err = run_cli(capsys, "report", str(EXAMPLES / "mixed.tar.gz"),
                             "--host", str(fifo))
    assert status == 8 and "FIFO" in err


def test_the_root_message_names_guestprobe_once(monkeypatch, capsys):
    monkeypatch.setattr(common.os, "geteuid", lambda: 1000)
    status, _, err = run_cli(capsys, "scan")
    assert err.startswith("guestprobe: must run as root") and err.count("guestprobe") == 1
    assert status != 0


@pytest.mark.parametrize("command", ["scan", "report"])
def test_json_and_brief_together_are_a_usage_error(capsys, command):
    args = [command, "--json", "--brief"] + ([str(EXAMPLES / "mixed.tar.gz")]
                                            if command == "report" else [])
    status, out, err = run_cli(capsys, *args)
    assert status == 2 and not out and "give one of them" in err


def test_man_page_and_completion_come_from_guestprobe_itself(capsys):
    status, out, _ = run_cli(capsys, "--man")
    assert status == 0 and out.startswith(".TH GUESTPROBE 8")
    status, out, _ = run_cli(capsys, "--completion")
    assert status == 0 and "complete -F _guestprobe guestprobe" in out
