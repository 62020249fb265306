"""dockbolt.core: what bot/ and workers/ share, and nothing else.

The job contract and typed per-verb args, job statuses, errors, settings, the job card, the job store,
the job thread and the Slack client factory. Stdlib + redis + slack_sdk only; imports neither side.
"""
