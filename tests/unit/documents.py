"""Report documents (the JSON form) for tests: built by the pipeline, judged in place."""


from typing import Any, Callable, Optional

from guestprobe import pipeline
from guestprobe.check.rule_engine import apply_checks
from guestprobe.document.model import Report


def build_document(collection: "Any", checker: "Optional[Callable[[Any], None]]" = None) -> dict:
    """The report of ``collection`` as JSON, judged by ``checker`` (None: facts only)."""
    report = pipeline.report_of(collection, judged=False)
    if checker is not None:
        checker(report)
    return report.to_dict()


def judge_in_place(document: dict, rules_dir: "Any" = None) -> None:
    """Judge a (test-edited) report document: read as the typed report, judged, written back."""
    report = Report.from_dict(document, "report")
    apply_checks(report, rules_dir)
    document.clear()
    document.update(report.to_dict())
