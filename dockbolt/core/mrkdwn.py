"""Slack mrkdwn for text we did not write (user input, Docker's words): escaping and code spans.

Slack treats ``&``, ``<`` and ``>`` as markup everywhere, even inside code, so ``<!channel>`` or
``<@U123>`` in a container's output would notify people: every such text goes through ``escape``.
"""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """An inline code span of ``text`` that a stray backtick cannot break out of (it becomes ')."""
    return "`" + text.replace("`", "'") + "`"


def code_block(body: str) -> str:
    """An escaped code block of ``body`` that the text itself cannot close."""
    return "```" + escape(body).replace("```", "`\u200b``") + "```"
