"""Host facts into verdicts: the host rules (``checks/host/*.toml``) through the one rule engine.

A host disk's context is ``{"name": target dev, "host": {"disk": ..., "domain": ...}}``; the
domain's is ``{"host": {"domain": ...}}``. The verdicts have the guest's shape (status, reasons
with stable codes, evidence, remediation as libvirt XML).
"""


import os
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from guestprobe import __version__
from guestprobe.check.rule_engine import evaluate
from guestprobe.check.rules import load_rules, rules_dir
from guestprobe.document.host import (
    HostDocument,
    HostDomain,
    Tool,
    domain_facts,
    given_disks,
)

HOST_SCHEMA_VERSION = "1.0"
HOST_RULES_SUBDIR = "host"


def host_rules_dir(override: "Optional[str]" = None) -> str:
    """``<rules dir>/host``; the bundled one where another rules directory has none."""
    from guestprobe.check.rules import bundled_rules_dir

    chosen = rules_dir(override) / HOST_RULES_SUBDIR
    return str(chosen if chosen.is_dir() else bundled_rules_dir() / HOST_RULES_SUBDIR)


def disk_context(disk: "Dict[str, Any]", name: "Optional[str]", facts: "Dict[str, Any]"
                 ) -> "Dict[str, Any]":
    """What the host rules of one disk (``name``) read: the disk's and its domain's facts as
    given."""
    return {"name": name, "host": {"disk": disk, "domain": facts}}


def judge_domain(domain: "Dict[str, Any]", rules: "List[Any]") -> "HostDomain":
    """The domain (its facts as decoded) as a typed record, each disk with its verdicts and the
    domain with its own."""
    facts = domain_facts(domain)
    typed = HostDomain.from_dict(domain, "domain")
    disks = [
        replace(disk, verdicts=[evaluate(r, disk_context(given, disk.target_dev, facts))
                                for r in rules if r.scope == "disk"])
        for given, disk in zip(given_disks(domain), typed.disks)
    ]
    context = {"host": {"domain": facts}}
    return replace(typed, disks=disks, domain_verdicts=[
        evaluate(r, context) for r in rules if r.scope == "guest"
    ])


def host_document(domains: "List[Dict[str, Any]]", source: "Dict[str, Any]",
                  rules_override: "Optional[str]" = None) -> "HostDocument":
    """The document of ``guestprobe host`` (schema: guestprobe/host/schema.json)."""
    rules = load_rules(host_rules_dir(rules_override))
    return HostDocument(
        schema_version=HOST_SCHEMA_VERSION,
        kind="guestprobe-host",
        tool=Tool("guestprobe", __version__),
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        host=dict(hostname=os.uname()[1], **source),
        domains=[judge_domain(domain, rules) for domain in domains],
    )
