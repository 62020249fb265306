"""`audit` through the real endpoint: admins only; decisions and their rules are in it, with `-e` values
masked; `--export` uploads the matching entries as JSONL into the channel after the ack."""

from __future__ import annotations

import json

from tests.support.pipeline import CHANNEL, Pipeline, poll_until


def test_audit_lists_and_exports_decisions(pipeline: Pipeline) -> None:
    pipeline.send("ps", user_id="UVIEWER")
    pipeline.send("stop web", user_id="UVIEWER")  # denied
    pipeline.send("run -e TOKEN=abc123-secret busybox", user_id="UOPERATOR")
    poll_until(lambda: pipeline.redis.xlen("dockbolt:audit") >= 3, what="three audit entries")

    denied = pipeline.send("audit", user_id="UOPERATOR").json or {}
    assert "not allowed" in str(denied.get("text"))

    listed = str((pipeline.send("audit --user UVIEWER", user_id="UADMIN").json or {}).get("text"))
    assert "`stop web`" in listed and "*denied*" in listed and "`ps`" in listed

    ack = str((pipeline.send("audit --export", user_id="UADMIN").json or {}).get("text"))
    assert "Exporting" in ack
    upload = pipeline.standin.wait_for(
        lambda: next((f for f in pipeline.standin.files if f.name.endswith(".jsonl")), None))
    assert upload.channel == CHANNEL
    entries = [json.loads(line) for line in upload.text.splitlines()]
    texts = [e.get("text") for e in entries]
    assert "stop web" in texts and "run -e TOKEN=*** busybox" in texts
    assert "abc123-secret" not in upload.text
    stop = next(e for e in entries if e.get("text") == "stop web")
    assert stop["allowed"] is False and stop["user_id"] == "UVIEWER" and "deny by default" in stop["rule"]
