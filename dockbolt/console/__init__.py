"""dockbolt.console: the local console (the embedded default of `make run`) and the Slack stand-in it needs.

The terminal plays Slack: typed lines go to the real bot as signed slash commands, and the Web API calls
of bot and workers land in the in-process stand-in, which the console prints.
"""
