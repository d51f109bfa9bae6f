"""``python -m devkit.preview``: a Block Kit Builder link for each surface, carrying the real view (as a process)."""

from __future__ import annotations

import json
from urllib.parse import unquote

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from devkit.preview import BUILDER
from tests.entrypoints import PYTHON, child_env, run


async def test_every_surface_has_a_builder_link_with_its_real_view() -> None:
    code, out, err = await run([PYTHON, "-m", "devkit.preview"], child_env())
    assert code == 0 and not err, err
    links = dict(zip(out.splitlines()[0::2], out.splitlines()[1::2], strict=True))
    assert set(links) == {"run message:", "summary:", "details:", "a child's story:", "help:", "form:", "home:"}
    for name, line in links.items():
        url = line.strip()
        assert url.startswith(BUILDER), name
        surface = json.loads(unquote(url[len(BUILDER):]))
        if "type" in surface:  # a view: the form or the Details modal (modals), or the Home tab
            View(**surface).validate_json()
        else:
            blocks = [Block.parse(b) for b in surface["blocks"]]
            assert blocks and all(b is not None for b in blocks)
            for block in blocks:
                block.validate_json()  # type: ignore[union-attr]
    assert "fanout_cancel" in links["run message:"] and "Simulated%20failure%20for%20value%202" in links["summary:"]
    assert "fanout_form" in links["form:"] and "%22type%22%3A%22home%22" in links["home:"]
    assert "fanout_details_go%3Afailed" in links["details:"] and "%60%60%60Timeline" in links["details:"]
    assert "fanout_details_story" in links["a child's story:"]
