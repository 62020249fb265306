"""bot/: the Slack side. Verifies, parses and authorizes slash commands, enqueues jobs, acks in < 3 s.

Never imports ``docker`` (checked by import-linter).
"""
