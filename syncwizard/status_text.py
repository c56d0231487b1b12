"""`syncwizard status` as plain text, for a terminal or a cron mail."""

from __future__ import annotations

from syncwizard import units
from syncwizard.clients.results import NOT_READ
from syncwizard.status import StatusReport


def _mark(healthy: bool | None) -> str:
    return {True: "ok", False: "FAIL", None: "unknown"}[healthy]


def render_status(report: StatusReport) -> str:
    lines: list[str] = []
    for node in report.health:
        lines.append(f"Sync Service  {node.url}  HTTP {node.http_status}  sync id {node.sync_id}")
        for check in node.checks:
            lines.append(f"  {_mark(check.healthy):<7} {check.name:<22} {check.message}".rstrip())
    if report.queue is not None:
        q = report.queue
        lines.append(f"Queue  {q.name}")
        lines.append(
            f"  pending {q.pending}  enqueued {q.enqueued}  dequeued {q.dequeued}  "
            f"in flight {q.in_flight}  consumers {q.consumers}"
        )
    if report.topic is not None:
        lines.append(f"Topic  {report.topic.name}  enqueued {report.topic.enqueued}")
    for db in report.databases:
        f = db.facts
        if not f.read:
            lines.append(f"{db.role:<14} {f.name}  {f.product}  {NOT_READ}")
            continue
        size = units.size(f.size_bytes, binary=True)  # as the TUI's databases panel says it
        lines.append(
            f"{db.role:<14} {f.name}  {f.product} {f.server_version}  {size}  "
            f"{f.connections} other connection{'s' if f.connections != 1 else ''}"
        )
    for error in report.errors:
        lines.append(f"ERROR {error.system}: {error.message}")
        if error.hint:
            lines.append(f"  hint: {error.hint}")
    verdict = "healthy" if report.healthy else "NOT healthy"
    lines.append(f"Overall: {verdict}")
    return "\n".join(lines)
