"""The repository explains itself: every document it cites is in it, and every cited section exists.

Citations look like ``docs/pipeline.md`` §5 (also §4-§5, §7.2, "§5 and §6") or
``docs/pipeline.md#some-heading``; a bare §N inside ``docs/<file>.md`` refers to that file's own
sections. Section N exists when the file has a heading ``## N. ...`` (``### N.M ...`` for N.M).
No source, doc or message may point at a document outside the repository.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from seal_ocr.errors import InvalidOptionError
from seal_ocr.params import PipelineOptions, parse_options
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


# --- docs/pipeline.md §2: the option table agrees with params.py and the README --------------

_OPTION_ROW = re.compile(r"^\| `(?P<name>[a-z_]+)`(?: \(ours\))? \| `(?P<default>[^`]+)` \|", re.M)
_DEFAULTS: dict[str, Callable[[PipelineOptions], object]] = {
    "use_layout_detection": lambda o: o.use_layout_detection,
    "layout_threshold": lambda o: o.layout.threshold,
    "layout_nms": lambda o: o.layout.nms,
    "layout_unclip_ratio": lambda o: o.layout.unclip_ratio,
    "layout_merge_bboxes_mode": lambda o: o.layout.merge_bboxes_mode,
    "keep_nested_seals": lambda o: o.layout.keep_nested_seals,
    "use_textline_orientation": lambda o: o.use_textline_orientation,
    "seal_det_limit_side_len": lambda o: o.seal_det.limit_side_len,
    "seal_det_limit_type": lambda o: o.seal_det.limit_type,
    "seal_det_thresh": lambda o: o.seal_det.thresh,
    "seal_det_box_thresh": lambda o: o.seal_det.box_thresh,
    "seal_det_unclip_ratio": lambda o: o.seal_det.unclip_ratio,
    "seal_rec_score_thresh": lambda o: o.seal_rec_score_thresh,
}
_PREPROCESSOR_SWITCHES = ("use_doc_orientation_classify", "use_doc_unwarping")


def _readme_option_names() -> set[str]:
    """Option names in the first column of the table under the README's "Options" heading."""
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = re.search(r"^#+ Options\b.*$", text, re.M)
    assert start, "README.md has no Options section"
    body = text[start.end() :]
    end = re.search(r"^#", body, re.M)
    return set(re.findall(r"^\| `([a-z_]+)`", body[: end.start() if end else None], re.M))


def _section(path: Path, number: str) -> str:
    """Section ``number`` of a markdown file: its ``## N.`` heading up to the next one."""
    text = path.read_text(encoding="utf-8")
    start = re.search(rf"^## {re.escape(number)}\. .*$", text, re.M)
    assert start, f"{path.name} has no section {number}"
    end = re.search(r"^## \d+\. ", text[start.end() :], re.M)
    return text[start.start() : start.end() + (end.start() if end else len(text))]


def test_pipeline_doc_lists_every_option_with_its_params_default():
    table = {
        m["name"]: json.loads(m["default"])
        for m in _OPTION_ROW.finditer(_section(DOCS / "pipeline.md", "2"))
    }
    readme = _readme_option_names()
    assert "seal_det_thresh" in readme, "README.md option table not found"
    assert set(readme) <= set(table), (
        f"options missing from docs/pipeline.md §2: {set(readme) - set(table)}"
    )
    defaults = PipelineOptions()
    for name, value in table.items():
        parse_options({name: None})  # a known option name (unknown names are refused)
        if name in _PREPROCESSOR_SWITCHES:
            assert value is False
            parse_options({name: False})
            with pytest.raises(InvalidOptionError, match=name):
                parse_options({name: True})
        else:
            assert value == _DEFAULTS[name](defaults), name
