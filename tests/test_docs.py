"""The documentation holds together: every relative link in the README, docs/*.md and bench/RESULTS.md leads to a
file that exists (and, for ``#anchor`` links into markdown, to a heading that exists), and the README stays a front
door: short, with a quick start that names ``make dev`` and ``make test``. Stdlib and pytest only."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted([README, *(ROOT / "docs").glob("*.md"), ROOT / "bench" / "RESULTS.md"])
README_MAX_LINES = 220

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
# [text](target) and ![alt](target), with an optional "title"; the text may hold one level of brackets.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^()\s<>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:, ...


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The lines outside fenced code blocks, numbered from 1: links and headings in code are not links."""
    lines, fence = [], ""
    for number, line in enumerate(text.splitlines(), 1):
        opened = FENCE.match(line)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence):
                fence = ""
            continue
        if opened:
            fence = opened.group(1)
            continue
        lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text (markdown marks and link targets dropped), lowercased, punctuation
    dropped but for hyphens, underscores and spaces, then spaces turned into hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub makes for a markdown file's headings (a repeated heading gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> list[tuple[int, str]]:
    """The link targets in a markdown file's prose, with their line numbers."""
    found = []
    for number, line in prose_lines(path.read_text(encoding="utf-8")):
        for match in LINK.finditer(INLINE_CODE.sub("", line)):
            found.append((number, match.group(1)))
    return found


def test_the_documents_exist() -> None:
    for path in DOCS:
        assert path.is_file(), path
    assert len(DOCS) > 3  # the README, bench/RESULTS.md and the docs themselves


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for number, target in links(path):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / unquote(file_part)).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}:{number}: {target}"
        if not linked.exists():
            broken.append(f"{where}: no such file")
            continue
        if not linked.is_relative_to(ROOT):
            broken.append(f"{where}: outside the repository")
            continue
        if anchor and linked.suffix == ".md" and unquote(anchor).lower() not in anchors(linked):
            broken.append(f"{where}: no heading with anchor #{anchor} in {linked.relative_to(ROOT)}")
    assert not broken, "\n".join(broken)


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_the_quick_start_names_make_dev_and_make_test() -> None:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^## Quick start\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, "README.md has no '## Quick start' section"
    assert "make dev" in match.group(1)
    assert "make test" in match.group(1)


def test_the_slugs_follow_githubs_rules() -> None:
    assert slug("Temporal Cloud / any cluster") == "temporal-cloud--any-cluster"
    assert slug("From `/fanout 1 2 3 4 5` to the threaded summary") == "from-fanout-1-2-3-4-5-to-the-threaded-summary"
    assert slug("Runs that wait: schedules, approvals, and a Workflow Builder step") == (
        "runs-that-wait-schedules-approvals-and-a-workflow-builder-step")
    assert slug("The packages inside bot/") == "the-packages-inside-bot"
    assert slug("Task-queue partitions") == "task-queue-partitions"
    assert slug("FANOUT_ENV and [the docs](x.md)") == "fanout_env-and-the-docs"
