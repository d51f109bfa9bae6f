"""ReportWorkflow: the claim that makes a run's summary post exactly once.

The bot that wants to post a run's summary first starts ``<run id>-report`` with the id reuse
policy ALLOW_DUPLICATE_FAILED_ONLY. Temporal starts one workflow per id, so of two replicas (or a
bot and its restarted self) exactly one wins. The winner posts, then signals ``posted``: the claim
completes, and a completed claim can never be started again — the run is reported, for good. A
winner that dies before signalling lets the lease run out: the claim *fails*, and a failed claim
may be started again, so another bot takes over. A winner still at work (Slack making it wait, a
large file uploading) signals ``renew``, which starts the lease again: only a dead bot loses it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class ReportWorkflow:
    def __init__(self) -> None:
        self._summary_ts: str | None = None
        self._renewed = False

    @workflow.run
    async def run(self, lease_s: float) -> str:
        while self._summary_ts is None:
            self._renewed = False
            try:
                await workflow.wait_condition(lambda: self._summary_ts is not None or self._renewed,
                                              timeout=timedelta(seconds=lease_s))
            except TimeoutError:
                raise ApplicationError("the claimant went quiet before it posted: the lease ran out",
                                       non_retryable=True) from None
        return self._summary_ts

    @workflow.signal
    def posted(self, summary_ts: str) -> None:
        self._summary_ts = summary_ts

    @workflow.signal
    def renew(self) -> None:
        self._renewed = True
