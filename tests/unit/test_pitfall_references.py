"""Every pitfall the code and the docs cite ("docs/pitfalls.md item N") is in docs/pitfalls.md,
and every item there says where it comes from."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PITFALLS = ROOT / "docs" / "pitfalls.md"
CITING = ("components", "functions", "ops", "policy", "tests", "docs", "bench")
# "docs/pitfalls.md item 5", "pitfalls.md items 5 and 6", "docs/pitfalls.md, item 12"
REFERENCE = re.compile(r"pitfalls\.md,?\s+items?\s+(\d+(?:(?:,\s*|\s+and\s+)\d+)*)")
ITEM = re.compile(r"^(\d+)\. \*\*", re.MULTILINE)


def items() -> dict[int, str]:
    """Each numbered item of docs/pitfalls.md and its text, up to the next item or heading."""
    text = PITFALLS.read_text()
    found: dict[int, str] = {}
    starts = list(ITEM.finditer(text))
    for at, match in enumerate(starts):
        end = starts[at + 1].start() if at + 1 < len(starts) else len(text)
        found[int(match.group(1))] = text[match.start() : end].split("\n## ")[0]
    return found


def citations() -> list[tuple[str, int]]:
    """(file, item) for every citation in the repository's code, tests and docs."""
    files = [ROOT / "README.md"]
    for top in CITING:
        files += [p for p in (ROOT / top).rglob("*") if p.suffix in {".py", ".md", ".yaml", ".sql"}]
    cited = []
    for path in files:
        for match in REFERENCE.finditer(path.read_text(errors="replace")):
            for number in re.findall(r"\d+", match.group(1)):
                cited.append((str(path.relative_to(ROOT)), int(number)))
    return cited


def test_every_cited_pitfall_is_in_the_document() -> None:
    known = items()
    cited = citations()
    # Then the code does cite the document, and every citation names an item it has
    assert len(cited) > 20
    assert [(path, n) for path, n in cited if n not in known] == []


def test_the_items_are_numbered_in_order_and_each_names_its_source() -> None:
    known = items()
    assert list(known) == list(range(1, len(known) + 1))
    assert [n for n, text in known.items() if "Source" not in text] == []
