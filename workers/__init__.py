"""workers/: the Docker side. Runs one verb per RQ job and reports into the job's Slack thread.

Never imports ``slack_bolt``; only ``workers.docker_engine`` imports ``docker`` (checked by import-linter).
"""
