"""Implementation of the local Slack Web API stand-in; its public face is ``slack_standin``."""
