"""What an operation says back to whoever asked: an ``Answer``. Slack shows it privately (an ephemeral message,
or a form's inline error), the terminal prints it. What is public about a run, its reporter posts.

The words for Temporal being away are here, once: every operation says them through ``unreachable`` and
``no_answer``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.mrkdwn import escape, mrkdwn_to_text
from bot.render.blocks import Message
from bot.render.replies import confirmation_message, error_message


@dataclass(frozen=True)
class Answer:
    message: Message
    ok: bool = True  # False: refused, or not done (the CLI exits non-zero; a form shows it inline)
    outage: bool = False  # Temporal could not be reached or did not answer (the CLI exits 2)

    @property
    def plain(self) -> str:
        """The answer as plain text on one line (a form's inline error, a Workflow Builder step's failure)."""
        return " ".join(mrkdwn_to_text(self.message.text, plain=True).replace("`", "").split())


def said(text: str) -> Answer:
    """A private confirmation; ``text`` is mrkdwn we wrote (user text escaped)."""
    return Answer(confirmation_message(text))


def shown(message: Message) -> Answer:
    """A reply that is a message of its own (status, list, schedules)."""
    return Answer(message)


def refused(problem: str, usage: str = "") -> Answer:
    """Why nothing was done, and (``usage``) how to write the command; both mrkdwn we wrote."""
    return Answer(error_message(problem, usage), ok=False)


def unreachable(address: str, consequence: str = "nothing was done") -> Answer:
    """Temporal could not be reached at all."""
    return Answer(error_message(f"Temporal is unreachable right now ({escape(address)}); {consequence}. Try again in "
                                "a moment.", ""), ok=False, outage=True)


def no_answer(address: str, consequence: str = "try again in a moment.") -> Answer:
    """Temporal did not answer in time (it may have acted: ``consequence`` says what that means)."""
    return Answer(error_message(f"Temporal did not answer in time ({escape(address)}); {consequence}", ""), ok=False,
                  outage=True)
