"""dockhand: the composition root (CLI, console, Slack stand-in) and the small shared core.

The shared core (``contract``, ``settings``, ``errors``) is stdlib-only and imports neither ``bot`` nor
``workers``; the CLI is the one place that wires both sides together.
"""

__version__ = "0.1.0"
