"""`JobStore.recent_for_user` on a real Redis: newest first, paged, and a job whose record expired (only
its id left in the user's list) is skipped, not an error — all in one round trip per page."""

from __future__ import annotations

from redis import Redis

from dockbolt.core.contract import JobRequest
from dockbolt.core.jobstore import JobStore

NOW = 1_800_000_000.0


def test_recent_jobs_are_newest_first_paged_and_skip_expired_records(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    store = JobStore(redis)
    user = "URECENT"
    for n in range(7):
        store.record_queued(JobRequest(job_id=f"recent-{n}", verb="ps", args={}, user_id=user,
                                       channel_id="CTEAM", command_text="ps", queued_at=NOW + n))
    redis.delete("dockbolt:job:recent-5")  # expired: its id is still in the user's list

    ids = [r.request.job_id for r in store.recent_for_user(user, 3)]
    assert ids == ["recent-6", "recent-4"]  # the page held 6, 5 and 4; 5 has no record
    assert [r.request.job_id for r in store.recent_for_user(user, 3, start=3)] == [
        "recent-3", "recent-2", "recent-1"]
    assert [r.request.job_id for r in store.recent_for_user(user, 3, start=6)] == ["recent-0"]
    assert store.recent_for_user(user, 3, start=9) == []
