"""How a job's text output reaches its thread: inline in a code block when small, as a file with a short
preview when long (Slack refuses sections over 3,000 characters and messages over ≈ 13k of blocks); a job
without a thread (the bot is not in the channel) gets only the preview, by response_url.

Used by the worker's reporter for every reply and by a fan-out's merged table (``dockbolt.core.fanout``),
which either side may complete. The text must already be masked and escaped.
"""

from __future__ import annotations

from dockbolt.core.mrkdwn import code_block
from dockbolt.core.outbox import Outbox

INLINE_MAX_CHARS = 2_800  # below Slack's 3,000-character section limit, leaving room for the fences
INLINE_MAX_LINES = 40
PREVIEW_LINES = 8


def write_output(outbox: Outbox, job_id: str, text: str, body: str | None, filename: str,
                 to: str = "", log: bool = False) -> None:
    """Queue ``text`` and ``body`` for the job's thread (``to="announce"``: its announcement's thread). A
    long body's preview is its head (a table's header and first rows, a document's start), or its tail
    when it is a ``log`` (the newest lines)."""
    if not body:
        outbox.post(job_id, text, to=to)
        return
    lines = body.splitlines()
    if len(body) <= INLINE_MAX_CHARS and len(lines) <= INLINE_MAX_LINES:
        outbox.post(job_id, f"{text}\n{code_block(body)}", to=to)
        return
    head = "\n".join(lines[:PREVIEW_LINES])
    fallback = (f"{text}\n{code_block(head)}\n_{len(lines)} lines; the full output needs the bot "
                "in this channel (invite it to get files)._")
    preview = "\n".join(lines[-PREVIEW_LINES:] if log else lines[:PREVIEW_LINES])
    comment = (f"{text}\n_{len(lines):,} lines, {len(body.encode()):,} bytes — full output in "
               f"the file; {'last' if log else 'first'} {min(PREVIEW_LINES, len(lines))} lines:_\n"
               f"{code_block(preview)}")
    outbox.file(job_id, content=body, filename=filename, comment=comment[:3_900], fallback=fallback, to=to)
