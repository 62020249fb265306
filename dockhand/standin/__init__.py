"""Implementation of the local Slack Web API stand-in; the public face is ``dockhand.slack_standin``."""
