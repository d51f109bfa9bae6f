"""The Workflow Builder step "Run a fan-out": an ordinary run in the step's channel, which its reporter completes
with the run's outputs once the result is in. A step has no human starter: its run counts against nobody's cap
(its caller has no user), and the channel allow-list, not the user allow-list, applies."""

from __future__ import annotations

from bot.language.grammar import RunCommand
from bot.operations.answers import Answer
from bot.operations.runs import Runs
from bot.operations.start import Invocation
from bot.reporting.payloads import Step


class Steps:
    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    async def start(self, command: RunCommand, *, text: str, channel_id: str, team_id: str,
                    function_execution_id: str) -> Answer | None:
        """Start the step's run: None when it started, else why not (the step fails with it)."""
        invocation = Invocation(user_id="", channel_id=channel_id, text=text, team_id=team_id,
                                trigger_id=f"step:{function_execution_id}")
        return await self.runs.start(command.request, invocation, step=Step(function_execution_id))
