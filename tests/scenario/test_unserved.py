"""A job queued while no worker serves its queue is told so in its thread within seconds, once, and still
runs when a worker starts (that half: tests/integration/test_durable_intake.py starts workers late)."""

from __future__ import annotations

from bot.messages import accepted_job_id
from tests.support.pipeline import CHANNEL, Pipeline


def test_a_job_nobody_serves_is_told_so_once(pipeline: Pipeline) -> None:
    job = accepted_job_id(pipeline.send("ps", user_id="UOPERATOR").json or {})
    assert job is not None
    card = pipeline.standin.wait_for(lambda: pipeline.standin.find_card(job))

    def told() -> list[str]:
        return [m.text for m in pipeline.standin.thread(CHANNEL, card.ts) if "No worker is serving" in m.text]

    said = pipeline.standin.wait_for(lambda: told() or None, timeout=30)
    assert f"job `{job}` waits" in said[0] and "will run when a worker starts" in said[0]
    for _ in range(3):
        pipeline.bot.reaper.run_once()
    assert len(told()) == 1
