"""The README and docs/ are complete on their own: every relative link resolves inside the repository (anchors
included), and nothing points outside it (no ../shared, no absolute file paths)."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCED = re.compile(r"^(`{3,}).*?^\1\s*$", re.M | re.S)


def _text(page):
    return FENCED.sub("", page.read_text())  # links inside code blocks are not links


def anchors(page):
    """GitHub's heading ids: lower case, punctuation dropped, spaces to dashes (repeats get -1, -2...)."""
    seen = {}
    result = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _text(page), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", "")).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def links(page):
    for number, line in enumerate(_text(page).splitlines(), 1):
        for target in LINK.findall(line):
            yield number, target


def test_there_are_pages_and_links():
    assert len(PAGES) >= 10
    assert sum(1 for page in PAGES for _ in links(page)) >= 30


def link_problems(page, root=ROOT):
    problems = []
    for number, target in links(page):
        where = f"{page.relative_to(root)}:{number}: {target}"
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            if not target.startswith(("https://", "mailto:")):
                problems.append(f"{where}: only https:// links may leave the repository")
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        if path.startswith("/") or not destination.is_relative_to(root):
            problems.append(f"{where}: points outside the repository")
        elif not destination.exists():
            problems.append(f"{where}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{where}: no heading #{anchor} in {destination.relative_to(root)}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page):
    assert link_problems(page) == []


def test_a_broken_or_escaping_link_is_reported(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## A section\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text("[ok](other.md#a-section) [spec](../../shared/SPEC.md) [gone](missing.md)\n"
                    "[anchor](other.md#no-such) [abs](/etc/passwd) [web](http://example.com)\n"
                    "```\n[in code](nowhere.md)\n```\n")
    assert link_problems(page, root=tmp_path) == [
        "docs/page.md:1: ../../shared/SPEC.md: points outside the repository",
        "docs/page.md:1: missing.md: no such file",
        "docs/page.md:2: other.md#no-such: no heading #no-such in docs/other.md",
        "docs/page.md:2: /etc/passwd: points outside the repository",
        "docs/page.md:2: http://example.com: only https:// links may leave the repository",
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_page_refers_to_a_file_outside_the_repository(page):
    text = page.read_text()
    assert re.findall(r"\.\./shared|shared/SPEC\.md|shared/STYLE\.md|/work/", text) == []


def test_the_docs_index_and_the_readme_link_every_page():
    pages = {page.name for page in (ROOT / "docs").glob("*.md")} - {"README.md"}
    for index, prefix in ((ROOT / "docs" / "README.md", ""), (ROOT / "README.md", "docs/")):
        linked = {target.partition("#")[0] for _, target in links(index)}
        assert sorted(name for name in pages if prefix + name not in linked) == [], index.name


def test_the_readme_starts_with_the_two_commands():
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.strip()]
    assert lines[0].startswith("# ") and lines[1] == "```sh", lines[:2]
    assert [line.split()[:2] for line in lines[2:4]] == [["make", "run"], ["make", "test"]] and lines[4] == "```"
