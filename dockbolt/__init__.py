"""dockbolt: Slack ChatOps for Docker.

Three packages live here, one concern each: ``dockbolt.core`` (what bot/ and workers/ share),
``dockbolt.cli`` (the composition root) and ``dockbolt.console`` (the local console and its Slack
stand-in). The layering is checked by import-linter (see pyproject.toml).
"""

__version__ = "0.1.0"
