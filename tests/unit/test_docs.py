"""The repository explains itself: every document it cites is in it, and every cited section exists.

Citations look like ``docs/pipeline.md`` §5 (also §4-§5, §7.2, "§5 and §6") or
``docs/pipeline.md#some-heading``; a bare §N inside ``docs/<file>.md`` refers to that file's own
sections. Section N exists when the file has a heading ``## N. ...`` (``### N.M ...`` for N.M).
No source, doc or message may point at a document outside the repository.
"""

from __future__ import annotations

import re
from pathlib import Path

from seal_ocr.params import options_markdown
from tests.unit.repo_files import REPO_ROOT, text_files

DOCS = REPO_ROOT / "docs"
THIS_FILE = Path(__file__).resolve()

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.MULTILINE)
_SECTION_NUMBER = re.compile(r"^(\d+(?:\.\d+)*)\.?\s")
# docs/<file>.md, then optional quotes/brackets, then one or more §N joined by -, ",", and, or
_CITATION = re.compile(
    r"docs/(?P<file>[\w.-]+\.md)(?:#(?P<anchor>[\w-]+))?[`'\")\]]*,?"
    r"(?P<sections>(?:\s*(?:-|–|,|and|or)?\s*§\s*\d+(?:\.\d+)*)*)"
)
_SECTION = re.compile(r"§\s*(\d+(?:\.\d+)*)")
_DOC_PATH = re.compile(r"(?<![\w/.-])docs/[\w.-]+\.md")
# Documents that live outside the repository (the reference material the project was built from).
_OUTSIDE = ("shared/reference", "paddlex-seal-pipeline", "triton-on-cpu", "paddlex-offline-parity")
# The evaluation images beside the repository are data, read through $SEAL_EVAL_DIR, not a document;
# any other path into ../shared is a citation of something the repository does not contain.
_SHARED_PATH = re.compile(r"shared/(?!eval/)[\w.-]+")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _sections(path: Path) -> tuple[set[str], set[str]]:
    """(section numbers, heading anchors) of a markdown file."""
    numbers, anchors = set(), set()
    for _, title in _HEADING.findall(path.read_text(encoding="utf-8")):
        anchors.add(_slug(title))
        match = _SECTION_NUMBER.match(title + " ")
        if match:
            numbers.add(match.group(1))
    return numbers, anchors


def _citing_files() -> list[Path]:
    return [path for path in text_files() if path.resolve() != THIS_FILE]


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _bad_citations(path: Path, text: str | None = None) -> list[str]:
    """Citations in ``path`` (or in ``text``, as if it were that file's content) of a missing
    docs file, section or heading."""
    if text is None:
        text = path.read_text(encoding="utf-8", errors="replace")
    where = path.relative_to(REPO_ROOT)
    problems = []
    for match in _CITATION.finditer(text):
        target = DOCS / match.group("file")
        line = _line_of(text, match.start())
        if not target.is_file():
            problems.append(f"{where}:{line}: cites {target.relative_to(REPO_ROOT)}, not present")
            continue
        numbers, anchors = _sections(target)
        for number in _SECTION.findall(match.group("sections")):
            if number not in numbers:
                problems.append(f"{where}:{line}: docs/{match.group('file')} has no §{number}")
        anchor = match.group("anchor")
        if anchor and anchor not in anchors:
            problems.append(f"{where}:{line}: docs/{match.group('file')} has no #{anchor}")
    if path.parent == DOCS and path.suffix == ".md":
        # bare §N in a document: its own sections (citations of other files are removed first)
        own, _ = _sections(path)
        rest = _CITATION.sub("", text)
        for match in _SECTION.finditer(rest):
            if match.group(1) not in own:
                problems.append(f"{where}: refers to its own §{match.group(1)}, which is missing")
    return problems


def test_every_cited_docs_file_section_and_heading_exists():
    problems = [problem for path in _citing_files() for problem in _bad_citations(path)]
    assert not problems, "\n".join(problems)


def test_citations_are_found_where_the_code_makes_them():
    """The checker itself: the library's citations are seen (so an empty result means clean)."""
    cited = set()
    for path in (REPO_ROOT / "python_backend" / "seal_ocr").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in _CITATION.finditer(text):
            cited.update(f"{match.group('file')} §{n}" for n in _SECTION.findall(match[0]))
    assert {"pipeline.md §5", "pipeline.md §6", "pipeline.md §7"} <= cited


def test_a_missing_section_file_or_heading_is_reported():
    probe = REPO_ROOT / "python_backend" / "probe.py"
    text = (
        'a = "docs/pipeline.md §99 and §5"\nb = "docs/nowhere.md §1"\nc = "docs/pipeline.md#nope"'
    )
    assert _bad_citations(probe, text) == [
        "python_backend/probe.py:1: docs/pipeline.md has no §99",
        "python_backend/probe.py:2: cites docs/nowhere.md, not present",
        "python_backend/probe.py:3: docs/pipeline.md has no #nope",
    ]


def test_every_docs_path_mentioned_exists():
    missing = []
    for path in _citing_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in _DOC_PATH.finditer(text):
            if not (REPO_ROOT / match.group(0)).is_file():
                line = _line_of(text, match.start())
                missing.append(f"{path.relative_to(REPO_ROOT)}:{line}: {match.group(0)}")
    assert not missing, "\n".join(missing)


def test_nothing_points_at_documents_outside_the_repository():
    found = []
    for path in _citing_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(REPO_ROOT)
        for needle in _OUTSIDE:
            for match in re.finditer(re.escape(needle), text):
                found.append(f"{where}:{_line_of(text, match.start())}: {needle}")
        for match in _SHARED_PATH.finditer(text):
            found.append(f"{where}:{_line_of(text, match.start())}: {match.group(0)}")
    assert not found, "\n".join(found)


# --- docs/pipeline.md §2: the option table is rendered from params.py's ----------------------

_BEGIN, _END = "<!-- options:begin", "<!-- options:end -->"


def test_pipeline_doc_option_table_is_the_rendered_table():
    text = (DOCS / "pipeline.md").read_text(encoding="utf-8")
    section = text.split("\n## 2. ", 1)[1].split("\n## 3. ", 1)[0]
    assert _BEGIN in section and _END in section, "docs/pipeline.md §2 has no options block"
    block = section.split(_BEGIN, 1)[1].split("\n", 1)[1].split(_END, 1)[0]
    assert block == options_markdown(), (
        "docs/pipeline.md §2: paste seal_ocr.params.options_markdown() between the markers"
    )
