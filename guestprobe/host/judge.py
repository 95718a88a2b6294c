"""Host facts into verdicts: the host rules (``checks/host/*.toml``) through the one rule engine.

A host disk's context is ``{"name": target dev, "host": {"disk": ..., "domain": ...}}``; the
domain's is ``{"host": {"domain": ...}}``. The verdicts have the guest's shape (status, reasons
with stable codes, evidence, remediation as libvirt XML).
"""


import os
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from guestprobe import __version__
from guestprobe.check.rule_engine import evaluate
from guestprobe.check.rules import load_rules, rules_dir

HOST_SCHEMA_VERSION = "1.0"
HOST_RULES_SUBDIR = "host"


def host_rules_dir(override: "Optional[str]" = None) -> str:
    """``<rules dir>/host``; the bundled one where another rules directory has none."""
    from guestprobe.check.rules import bundled_rules_dir

    chosen = rules_dir(override) / HOST_RULES_SUBDIR
    return str(chosen if chosen.is_dir() else bundled_rules_dir() / HOST_RULES_SUBDIR)


def domain_facts(domain: "Dict[str, Any]") -> "Dict[str, Any]":
    """The domain without its disks and verdicts: what rules see as ``host.domain``."""
    return {k: v for k, v in domain.items() if k not in ("disks", "domain_verdicts")}


def disk_context(disk: "Dict[str, Any]", domain: "Dict[str, Any]") -> "Dict[str, Any]":
    return {"name": disk.get("target_dev"), "host": {"disk": disk, "domain": domain_facts(domain)}}


def judge_domain(domain: "Dict[str, Any]", rules: "List[Any]") -> None:
    """Fill each disk's ``verdicts`` and the domain's ``domain_verdicts`` (in place)."""
    for disk in domain["disks"]:
        context = disk_context(disk, domain)
        disk["verdicts"] = [evaluate(r, context).to_dict() for r in rules if r.scope == "disk"]
    context = {"host": {"domain": domain_facts(domain)}}
    domain["domain_verdicts"] = [
        evaluate(r, context).to_dict() for r in rules if r.scope == "guest"
    ]


def host_document(domains: "List[Dict[str, Any]]", source: "Dict[str, Any]",
                  rules_override: "Optional[str]" = None) -> "Dict[str, Any]":
    """The JSON document of ``guestprobe host`` (schema: guestprobe/host/schema.json)."""
    rules = load_rules(host_rules_dir(rules_override))
    for domain in domains:
        judge_domain(domain, rules)
    return {
        "schema_version": HOST_SCHEMA_VERSION,
        "kind": "guestprobe-host",
        "tool": {"name": "guestprobe", "version": __version__},
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": {"hostname": os.uname()[1], **source},
        "domains": domains,
    }
