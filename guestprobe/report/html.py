"""The case report as one self-contained HTML page (and the cluster comparison as another). Pure.

One file that opens from a mail attachment: no script at all, no external style, font, image or
link to fetch; a Content-Security-Policy ``<meta>`` allows nothing but the page's own style
sheet (by its hash), so even a string that slipped through could not run or load anything.
Every text that came from a device, a host or a bundle goes through
:func:`guestprobe.report.escape.html_text` (control characters as ``\\xNN``, then markup).

The page: the disk x feature matrix (status as a word and a colour), each cell a ``<details>``
that opens the verdict: reasons, the facts in words, the fix, and the evidence (each probe's
command, exit status and meaning, outcome, stderr, the raw answer as a hex dump, and the decoded
fields); then the findings as the terminal lists them, the fixes once each, the guest-wide
verdicts, the LU groups with their paths, the platform and versions.
"""


import base64
import hashlib
from typing import TYPE_CHECKING, Any

from guestprobe.decode.hexdump import format_hexdump
from guestprobe.report.escape import html_lines, html_text
from guestprobe.report.findings import (
    GUIDE,
    GUIDE_SECTION,
    STATUS_WORDS,
    USABLE,
    Finding,
    Fix,
    ProbeEvidence,
    ReportView,
    VerdictView,
    build_report_view,
    first_clause,
    guide_parts,
)
from guestprobe.report.table import feature_name, matrix_features

if TYPE_CHECKING:  # pragma: no cover
    from guestprobe.document.compare import Comparison, LuRow
    from guestprobe.document.model import Report

STYLE = """
:root{--fg:#1d1d1f;--muted:#5b5b66;--line:#c9c9d1;--bg:#fff;--code:#f4f4f7}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:var(--fg);background:var(--bg);margin:0 auto;padding:1rem 1rem 3rem;max-width:96rem}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.2rem;margin:2rem 0 .6rem;
border-bottom:2px solid var(--line);padding-bottom:.2rem}h3{font-size:1rem;margin:.2rem 0 .5rem}
h4{font-size:.92rem;margin:.9rem 0 .3rem}
code,pre,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85rem}
pre{background:var(--code);padding:.5rem .6rem;overflow:auto;margin:.3rem 0;
white-space:pre-wrap;overflow-wrap:anywhere}
pre.hex{white-space:pre;overflow-wrap:normal}
.muted{color:var(--muted)}
.banner{border:2px solid #8a6d00;background:#fff6d6;padding:.5rem .8rem;margin:.8rem 0}
table{border-collapse:collapse;margin:.4rem 0}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f4;font-weight:600}
table.matrix td.cell{padding:0;min-width:4rem;position:relative}
table.matrix thead th{font-size:.76rem;vertical-align:bottom;max-width:6rem;padding:.25rem .3rem}
small.id{display:block;font-weight:400;font-size:.7rem;color:var(--muted);
font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
table.matrix tr.guest th{font-weight:400}
table.matrix td.guestcells{padding:.2rem;position:relative}
table.matrix td.guestcells details{display:inline-block;margin:.1rem}
table.matrix td.guestcells summary{cursor:pointer;padding:.2rem .4rem;font-size:.85rem}
table.summary td{font-size:.9rem}
td.cell summary{cursor:pointer;padding:.25rem .3rem;font-weight:600;list-style:none;
font-size:.74rem}
td.cell summary::-webkit-details-marker{display:none}
td.cell summary::after{content:"\\A0\\25BE";font-weight:400;color:var(--muted)}
td.cell details[open]>summary{outline:2px solid #1d1d1f}
.pop{position:absolute;top:100%;left:0;z-index:20;width:min(52rem,88vw);max-height:75vh;
overflow:auto;background:#fff;color:var(--fg);border:1px solid #777;
box-shadow:0 6px 24px rgba(0,0,0,.25);padding:.6rem .8rem;font-weight:400;white-space:normal}
.st{font-weight:700}
.usable{background:#e3f5e6;color:#14532d}
.degraded{background:#fff1c7;color:#6b4500}
.not_usable{background:#fde0e0;color:#8b1111}
.unknown{background:#ece6fb;color:#4a2a8a}
.badge{display:inline-block;padding:0 .45rem;border-radius:.25rem;font-weight:700}
.card{border:1px solid var(--line);border-left:6px solid var(--line);padding:.5rem .8rem;
margin:.6rem 0;background:#fff}
.card.k-not_usable{border-left-color:#c62828}
.card.k-degraded{border-left-color:#c88a00}
.card.k-unknown{border-left-color:#6a3fc1}
.card.k-usable{border-left-color:#2e7d32}
table.matrix td.cell:nth-last-child(-n+5) .pop{left:auto;right:0}
table.matrix th.disk{min-width:7rem;max-width:11rem;font-weight:400}
table.matrix th.disk strong{font-size:1rem}
table.matrix th.disk div{font-size:.8rem;color:var(--muted);overflow-wrap:anywhere}
ul.reasons{margin:.2rem 0 .4rem;padding-left:1.2rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.1rem .8rem;margin:.3rem 0}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0;overflow-wrap:anywhere}
.probe{border-top:1px dashed var(--line);padding-top:.3rem;margin-top:.4rem}
table.fields{width:100%;table-layout:fixed}
table.fields td{font-size:.85rem;overflow-wrap:anywhere}
table.fields td:first-child{width:38%}
.card{overflow-x:auto}
ol.fixes>li{margin:.6rem 0}
q.ja{quotes:"\201C" "\201D"}
footer{margin-top:2.5rem;color:var(--muted);font-size:.85rem}
@media print{.pop{position:static;width:auto;max-height:none;box-shadow:none}}
"""


def _csp(style: str) -> str:
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; script-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )


def _page(title: str, body: "list[str]") -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_csp(STYLE)}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html_text(title)}</title>",
            f"<style>{STYLE}</style>",
            "</head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


def _badge(status: str) -> str:
    word = STATUS_WORDS.get(status, status)
    return f'<span class="badge st {html_text(status)}">{html_text(word)}</span>'


def _probe(probe: "ProbeEvidence") -> str:
    parts = [f'<div class="probe"><h4><code>{html_text(probe.id)}</code> '
             f'<span class="muted">({html_text(probe.source)})</span></h4>',
             f"<pre>{html_text(probe.command)}</pre>", '<dl class="facts">']
    if probe.exit_status is not None:
        meaning = f" — {probe.exit_meaning}" if probe.exit_meaning else ""
        parts.append(f"<dt>exit status</dt><dd>{html_text(f'{probe.exit_status}{meaning}')}</dd>")
    parts.append(f"<dt>outcome</dt><dd>{html_text(probe.outcome or '-')}</dd>")
    if probe.duration_s is not None:
        parts.append(f"<dt>took</dt><dd>{probe.duration_s:.3f} s</dd>")
    parts.append("</dl>")
    if probe.stderr.strip():
        parts.append(f"<div>stderr:</div><pre>{html_lines(probe.stderr.rstrip())}</pre>")
    if probe.raw:
        if probe.raw_damaged:
            label = "the answer as stored (it does not decode)"
        elif probe.printed_as_hexdump:
            label = f"the answer, {len(probe.raw)} bytes (read from the tool's own hex dump)"
        else:
            label = f"the raw answer, {len(probe.raw)} bytes"
        parts.append(f"<div>{html_text(label)}:</div><pre class=\"hex\">"
                     f"{html_lines(format_hexdump(probe.raw).rstrip())}</pre>")
    elif probe.source != "none":
        parts.append('<div class="muted">no answer bytes</div>')
    parts.append("</div>")
    return "".join(parts)


def _fix(remedy: "Fix", number: int) -> str:
    return (f"<li><strong>[{number}] {html_text(remedy.platform_words)}</strong>"
            f"<pre>{html_lines(remedy.text)}</pre></li>")


def _verdict_body(verdict: "VerdictView", view: "ReportView", subject: str, evidence: bool,
                  full_fix: "bool | None" = None) -> str:
    """Reasons, facts and fix; with ``evidence`` the evidence too; the fix in full with
    ``full_fix`` (default: as ``evidence``: a matrix cell, a guest verdict), else by its number
    in the Fixes list (a finding card)."""
    full_fix = evidence if full_fix is None else full_fix
    parts = [
        f"<h3>{html_text(subject)} · {html_text(verdict.title)} "
        f"(<code>{html_text(verdict.feature)}</code>): {_badge(verdict.status)}</h3>",
        '<ul class="reasons">',
    ]
    for number, reason in enumerate(verdict.reasons):
        note = "" if number == 0 else '<span class="muted">note</span> '
        parts.append(f"<li>{note}<code>{html_text(reason.code)}</code>: {html_text(reason.text)}"
                     "</li>")
    parts.append("</ul>")
    if verdict.facts or verdict.missing:
        parts.append('<dl class="facts">')
        for label, value in verdict.facts:
            parts.append(f"<dt>{html_text(label)}</dt><dd>{html_text(value)}</dd>")
        if verdict.missing:
            parts.append(f"<dt>missing facts</dt><dd>{html_text(', '.join(verdict.missing))}</dd>")
        parts.append("</dl>")
    if verdict.remedies and full_fix:
        parts.append("<h4>Fix</h4><ol class=\"fixes\">")
        parts += [_fix(view.remedies[i], i + 1) for i in verdict.remedies]
        parts.append("</ol>")
    elif verdict.remedies:
        refs = ", ".join(
            f'<a href="#fix-{i + 1}">[{i + 1}] {html_text(view.remedies[i].platform_words)}</a>'
            for i in verdict.remedies
        )
        parts.append(f"<p><strong>Fix:</strong> {refs} (below)</p>")
    elif verdict.status != "usable":
        parts.append('<p class="muted">Fix: none in the rules (the reason says what it takes).'
                     "</p>")
    if evidence and (verdict.probes or verdict.decoded):
        parts.append("<h4>Evidence</h4>")
        parts += [_probe(probe) for probe in verdict.probes]
        for group in verdict.decoded:
            rows = "".join(f"<tr><td class=\"mono\">{html_text(k)}</td><td>{html_text(v)}</td></tr>"
                           for k, v in group.fields)
            parts.append(f"<h4>decoded: <code>{html_text(group.name)}</code></h4>"
                         f'<table class="fields">{rows}</table>')
    if verdict.guide_section:
        parts.append(_guide(verdict.guide_section))
    return "".join(parts)


def _guide(section: str) -> str:
    """The guide named, the English first and the Japanese original as the quote."""
    words = []
    for english, original in guide_parts(section):
        words.append(html_text(english) + (f' (original: <q class="ja" lang="ja">'
                                            f"{html_text(original)}</q>)" if original else ""))
    return (f'<p class="muted">Guide: <cite>{html_text(GUIDE)}</cite>, '
            f'“{html_text(GUIDE_SECTION)}”: {"; ".join(words)}</p>')


def _head(feature: str, view: "ReportView") -> str:
    title = view.feature_titles.get(feature, feature)
    return (f'<th title="{html_text(title)}">{html_text(feature_name(feature, title))}'
            f'<small class="id">{html_text(feature)}</small></th>')


def _cell(verdict: "VerdictView", view: "ReportView", subject: str) -> str:
    return (f'<details><summary class="st {html_text(verdict.status)}">'
            f"{html_text(STATUS_WORDS.get(verdict.status, verdict.status))}</summary>"
            f'<div class="pop" id="{_anchor(subject, verdict.feature)}">'
            f"{_verdict_body(verdict, view, subject, True)}</div></details>")


def _summary(view: "ReportView") -> "list[str]":
    """Per feature: how many disks may use it, and the findings that matter, in plain names."""
    rows = []
    for feature in matrix_features(view):
        verdicts = [d.verdicts[feature] for d in view.disks if feature in d.verdicts]
        usable = sum(1 for v in verdicts if v.status == USABLE)
        title = view.feature_titles.get(feature, feature)
        matters = [f for f in view.findings if f.verdict.feature == feature]
        count = f"usable on {usable} of {len(verdicts)} {'disk' if len(verdicts) == 1 else 'disks'}"
        rows.append(_summary_row(title, feature, count, usable == len(verdicts), matters, view))
    for verdict in view.guest_verdicts:
        matters = [f for f in view.findings if f.verdict is verdict]
        rows.append(_summary_row(verdict.title, verdict.feature,
                                 f"guest-wide: {STATUS_WORDS.get(verdict.status, verdict.status)}",
                                 verdict.status == USABLE, matters, view))
    return ['<section id="summary"><h2>Summary</h2><table class="summary"><thead><tr>'
            "<th>feature</th><th>disks</th><th>what matters</th></tr></thead><tbody>",
            *rows, "</tbody></table></section>"]


def _summary_row(title: str, feature: str, count: str, all_usable: bool,
                 matters: "list[Finding]", view: "ReportView") -> str:
    holders = {disk.name: disk.holder for disk in view.disks if disk.holder}
    alike: "dict[tuple[str, str, str], list[str]]" = {}  # (status, code, words) -> who
    for finding in matters:
        reason = finding.verdict.reasons[0] if finding.verdict.reasons else None
        words = first_clause(reason.text).rstrip(".") if reason else ""
        rest = reason.text[len(words) + 1:].strip() if reason else ""
        holder = next((holders[n] for n in finding.disks if n in holders), "")
        if holder and feature == "pr_fencing":
            words += f"; held by {holder}"
        elif reason and len(words) < 45 and rest:  # a short clause says too little
            words += reason.text[len(words)] + " " + first_clause(rest).rstrip(".")
        key = (finding.verdict.status, reason.code if reason else "", words)
        alike.setdefault(key, []).append(finding.subject)
    items = [f"<li>{_badge(status)} {html_text(', '.join(who))}: {html_text(words)}"
             + (f' <small class="id">{html_text(code)}</small>' if code else "") + "</li>"
             for (status, code, words), who in alike.items()]
    css = "usable" if all_usable else "not_usable" if not matters else matters[0].verdict.status
    what = f'<ul class="reasons">{"".join(items)}</ul>' if items else "nothing: usable"
    return (f'<tr><th>{html_text(title)}<small class="id">{html_text(feature)}</small></th>'
            f'<td class="{html_text(css)}">{html_text(count)}</td><td>{what}</td></tr>')


def _matrix(view: "ReportView") -> "list[str]":
    features = matrix_features(view)
    head = "".join(_head(f, view) for f in features)
    out = ['<table class="matrix"><thead><tr><th>disk: transport, identity, LU designator</th>'
           f"{head}</tr></thead><tbody>"]
    for disk in view.disks:
        cells = []
        for feature in features:
            verdict = disk.verdicts.get(feature)
            if verdict is None:
                cells.append("<td>-</td>")
                continue
            cells.append(f'<td class="cell {html_text(verdict.status)}">'
                         f"{_cell(verdict, view, disk.name)}</td>")
        about = [disk.dev_path, disk.transport, disk.identity, disk.lu_designator]
        out.append(
            f'<tr><th class="disk"><strong>{html_text(disk.name)}</strong>'
            + "".join(f"<div>{html_text(line)}</div>" for line in about if line)
            + f"</th>{''.join(cells)}</tr>"
        )
    if view.guest_verdicts:  # the guest-wide verdicts, a row of their own
        guest = " ".join(
            f'<span class="muted">{html_text(v.title)}</span> {_cell(v, view, "guest")}'
            for v in view.guest_verdicts)
        out.append(f'<tr class="guest"><th class="disk"><strong>guest</strong>'
                   f"<div>guest-wide verdicts</div></th>"
                   f'<td class="guestcells" colspan="{len(features)}">{guest}</td></tr>')
    out.append("</tbody></table>")
    out.append('<p class="muted">Each status is a word and a colour: usable, DEGRADED, NOT USABLE,'
               " UNKNOWN (a fact it needs is missing). Open a cell for the reason, the fix and the"
               " evidence.</p>")
    return out


def _anchor(subject: str, feature: str) -> str:
    text = f"{subject}\0{feature}".encode("utf-8", "surrogatepass")  # (a name may hold one)
    digest = hashlib.sha256(text).hexdigest()[:12]
    return f"v-{digest}"


def _finding_card(finding: "Finding", view: "ReportView") -> str:
    verdict = finding.verdict
    body = _verdict_body(verdict, view, finding.subject, evidence=True, full_fix=False)
    return f'<div class="card k-{html_text(verdict.status)}">{body}</div>'


def _caveat_item(finding: "Finding") -> str:
    verdict = finding.verdict
    caveats = verdict.reasons[1:] or verdict.reasons[:1]
    refs = " ".join(f"[{i + 1}]" for i in verdict.remedies)
    text = "; ".join(f"{r.code}: {r.text}" for r in caveats)
    return (f"<li>{_badge('usable')} <strong>{html_text(finding.subject)}</strong> "
            f"<code>{html_text(verdict.feature)}</code>, but {html_text(text)}"
            + (f" (fix {html_text(refs)})" if refs else "") + "</li>")


def _remedy_item(number: int, remedy: "Fix") -> str:
    whom: "dict[str, list[str]]" = {}
    for who, feature in remedy.applies_to:
        whom.setdefault(who, []).append(feature)
    audience = "; ".join(f"{who}: {', '.join(features)}" for who, features in whom.items())
    return (f'<li id="fix-{number}"><strong>[{number}] {html_text(remedy.platform_words)}</strong>'
            " — for "
            f"{html_text(audience)}<pre>{html_lines(remedy.text)}</pre></li>")


def _host_redacted_banner(report: "Report") -> "list[str]":
    """report --host of a redacted bundle: the page says the host view is redacted too."""
    if report.host_join is None or not report.host_join.host_redacted:
        return []
    return ['<p class="banner">The host view joined to it (--host) is redacted with the '
            "bundle's key: the same tokens, and no real serial, LU designator, domain name, UUID "
            "or source path.</p>"]


def render_html(report: "Report", redacted: bool = False) -> str:
    """The whole page for one judged report."""
    view = build_report_view(report, redacted=redacted)
    counts: "dict[str, int]" = {}
    for finding in view.findings:
        counts[finding.verdict.status] = counts.get(finding.verdict.status, 0) + 1
    summary = ", ".join(f"{n} {STATUS_WORDS[s]}" for s, n in sorted(counts.items())
                        if s in STATUS_WORDS) or "every verdict usable"
    title = f"guestprobe report: {view.hostname or 'guest'}"
    platform = view.platform
    where = ", ".join(filter(None, [platform.hypervisor, platform.dmi,
                                    platform.kernel and f"kernel {platform.kernel}"]))
    body = [f"<header><h1>{html_text(title)}</h1>",
            f"<p>{html_text(where)}</p>" if where else "",
            f'<p class="muted">{html_text(view.scan_summary)}; generated '
            f"{html_text(view.generated_at)}; findings: {html_text(summary)}</p>"]
    if view.redacted:
        body.append('<p class="banner">Redacted bundle: host names, serials, WWIDs and LU '
                    "designators, by-id links, IQNs, portal addresses and PR keys are keyed "
                    "hashes.</p>")
    body += _host_redacted_banner(report)
    if not view.complete:
        body.append('<p class="banner">INCOMPLETE: a disk timed out or vanished during the scan.'
                    "</p>")
    body.append("</header>")
    if view.disks or view.guest_verdicts:
        body += _summary(view)
    body.append('<section id="matrix"><h2>Disks and features</h2>')
    body += _matrix(view) if view.disks else ["<p>No disks found.</p>"]
    body.append("</section>")
    body.append('<section id="findings"><h2>Findings</h2>')
    if view.findings:
        body += [_finding_card(f, view) for f in view.findings]
    else:
        body.append("<p>Every verdict is usable.</p>")
    if view.caveats:
        body.append("<h3>Usable, with a caveat</h3><ul>")
        body += [_caveat_item(f) for f in view.caveats]
        body.append("</ul>")
    fixes = [_remedy_item(i + 1, r) for i, r in enumerate(view.remedies) if r.applies_to]
    if fixes:
        body += ["<h2>Fixes</h2>", '<ol class="fixes">', *fixes, "</ol>"]
    body.append("</section>")
    body.append('<section id="guest"><h2>Guest-wide verdicts</h2>')
    body += [f'<div class="card k-{html_text(v.status)}">{_verdict_body(v, view, "guest", True)}'
             "</div>" for v in view.guest_verdicts] or ["<p>None.</p>"]
    body.append("</section>")
    body.append('<section id="lus"><h2>Logical units and their paths</h2>')
    if view.lu_groups:
        rows = "".join(
            f"<tr><td class=\"mono\">{html_text(g.lu_designator)}</td><td>{len(g.disks)}</td>"
            f"<td>{html_text(', '.join(g.disks))}</td></tr>" for g in view.lu_groups
        )
        body.append(f"<table><tr><th>LU designator</th><th>paths</th><th>disks</th></tr>{rows}"
                    "</table>")
    else:
        body.append("<p>No disk carries an LU designator.</p>")
    body.append("</section>")
    rows = "".join(f"<tr><th>{html_text(k)}</th><td>{html_text(v)}</td></tr>"
                   for k, v in view.platform.rows())
    body.append(f'<section id="platform"><h2>Platform and versions</h2><table>{rows}</table>'
                "</section>")
    body.append("<footer>Written by guestprobe: a self-contained page (no script, nothing "
                "fetched). The JSON report holds the same and more.</footer>")
    return _page(title, body)


# -- the cluster comparison ---------------------------------------------------------------------
_PR_WORDS = {"yes": ("usable", "PR"), "no": ("not_usable", "no PR"), "unknown": ("unknown", "PR?")}


def _comparison_cell(row: "LuRow", name: str) -> str:
    """One node's cell of an LU's row: its paths to the LU and whether each is PR-capable."""
    paths = row.paths.get(name)
    if not paths:
        return '<td class="not_usable"><span class="st">not seen</span></td>'
    state = row.pr_capable_by_node.get(name, "unknown")
    css, word = _PR_WORDS.get(state, ("unknown", str(state)))
    detail = ", ".join(
        f"{p.disk}: {_PR_WORDS.get(p.pr_capable, ('', '?'))[1]}"
        + ("" if p.read_keys_outcome in (None, "ok") else f" (PR IN {p.read_keys_outcome})")
        for p in paths
    )
    held = {p.held_key for p in paths} - {None}
    if held:  # PR works, and somebody holds it: not the plain green "PR"
        from guestprobe.decode.persist import key_owner

        css = "degraded" if css == "usable" else css
        detail += "; held by " + ", ".join(
            key_owner(int(k, 16)).holder_text for k in sorted(held) if _is_hex(k))
    return (f'<td class="{css}"><span class="st">{html_text(word)}</span>'
            f"<div>{html_text(detail)}</div></td>")


def _is_hex(text: "Any") -> bool:
    try:
        int(text, 16)
    except (TypeError, ValueError):
        return False
    return True


def _comparison_row(row: "LuRow", nodes: "list[str]") -> str:
    """One LU: its designator, identity, each node's cell, seen by all, PR where seen, holder."""
    from guestprobe.bundle.compare import holder_cell

    cells = [_comparison_cell(row, name) for name in nodes]
    css, word = _PR_WORDS.get(row.pr_capable_where_seen, ("unknown", "?"))
    seen_css = "usable" if row.seen_by_all else "degraded"
    holder = holder_cell(row, nodes)
    holder_css = "usable" if holder in ("none", "-") else "degraded"
    return (
        f"<tr><td class=\"mono\">{html_text(row.lu_designator)}</td>"
        f"<td>{html_text(row.identity or '-')}</td>{''.join(cells)}"
        f'<td class="{seen_css}"><span class="st">'
        f"{'yes' if row.seen_by_all else 'NO'}</span></td>"
        f'<td class="{css}"><span class="st">{html_text(word)}</span></td>'
        f'<td class="{holder_css}">{html_text(holder)}</td></tr>'
    )


def render_comparison_html(result: "Comparison") -> str:
    """The node x LU matrix of ``guestprobe compare``: which node sees each LU through which
    paths, whether PR-capable, and the coordinator-disk count."""
    nodes = [node.name for node in result.nodes]
    head = "".join(f"<th>{html_text(name)}</th>" for name in nodes)
    rows = [_comparison_row(row, nodes) for row in result.logical_units]
    findings = [v for v in result.cluster_verdicts if v.lu_designator]
    coordinator = result.coordinator_disks
    enough = coordinator.enough
    body = [
        "<header><h1>guestprobe compare: " + html_text(", ".join(nodes)) + "</h1>",
        "<ul>" + "".join(
            f"<li><strong>{html_text(n.name)}</strong>: {html_text(n.source)}, "
            f"{html_text(n.disk_count)} disks"
            + "".join(f"<br><span class=\"muted\">{html_text(note)}</span>" for note in n.notes)
            + "</li>"
            for n in result.nodes
        ) + "</ul></header>",
        '<section><h2>Coordinator disks</h2>'
        f'<div class="card k-{"usable" if enough else "not_usable"}"><h3>'
        f'<span class="badge st {"usable" if enough else "not_usable"}">'
        f'{"OK" if enough else "NOT ENOUGH"}</span> '
        f"{html_text(coordinator.candidate_count)} LU(s) seen by every node, PR-capable "
        "and free of other owners' keys; largest odd set: "
        f"{html_text(coordinator.largest_odd_set)}</h3>"
        f"<p>{html_text(coordinator.reason)}</p></div></section>",
        "<section><h2>Logical units by node</h2>",
    ]
    if rows:
        body.append(f'<table class="matrix"><thead><tr><th>LU designator</th><th>identity</th>'
                    f"{head}<th>seen by all</th><th>PR where seen</th><th>holder</th></tr>"
                    "</thead><tbody>" + "".join(rows) + "</tbody></table>")
        body.append('<p class="muted">PR = PR-capable (PERSISTENT RESERVE IN answers and no '
                    "fencing verdict against it), no PR = not, PR? = PR IN answers but the "
                    "fencing verdict is unknown; not seen = the node has no path to the LU; "
                    "PR where seen: from every node that sees it; holder: the reservation's "
                    "key and its owner.</p>")
        if findings:
            body.append("<ul>" + "".join(
                f'<li><span class="badge st {html_text(v.status)}">'
                f"{html_text(v.status)}</span> <span class=\"mono\">"
                f"{html_text(v.lu_designator)}</span> <code>{html_text(v.code)}"
                f"</code>: {html_text(v.text)}</li>" for v in findings) + "</ul>")
    else:
        body.append("<p>No disk with an LU designator on any node.</p>")
    for name, missing in result.missing_by_node.items():
        if missing:
            body.append(f"<p>{html_text(name)} does not see: "
                        f"<span class=\"mono\">{html_text(', '.join(missing))}</span></p>")
    for name, disks in result.disks_without_designator.items():
        body.append(f"<p>{html_text(name)}: no LU designator (cannot be matched): "
                    f"{html_text(', '.join(map(str, disks)))}</p>")
    body.append("</section><footer>Written by guestprobe compare: a self-contained page (no "
                "script, nothing fetched).</footer>")
    return _page("guestprobe compare", body)
