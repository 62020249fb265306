"""dockbolt.cli: the composition root. The `dockbolt` command (up, bot, worker, check) and process wiring.

The only place that puts bot/ and workers/ together.
"""
