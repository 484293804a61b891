"""The README's config reference is generated from the declaration of the keys, and kept so."""

from __future__ import annotations

from pathlib import Path

from components.settings import docs, schema


def test_the_readme_config_reference_is_the_one_the_declaration_generates() -> None:
    # Given the README as committed, When its config reference is generated again
    readme = docs.README.read_text()

    # Then nothing changes; otherwise run `make docs`
    assert docs.updated(readme) == readme, "the README's config reference is stale: make docs"


def test_every_declared_key_has_a_row_with_its_meaning() -> None:
    reference = docs.reference()

    for key in schema.declared_keys():
        assert key.field.description, f"{key.path} has no description"
        assert f"| `{key.path}` |" in reference


def test_a_stale_readme_is_found_and_rewritten(tmp_path: Path) -> None:
    # Given a README whose table lost a row
    readme = tmp_path / "README.md"
    fresh = docs.updated(docs.README.read_text())
    readme.write_text("\n".join(x for x in fresh.splitlines() if "`availabilityZones`" not in x))

    # When it is checked, Then it is stale; and `make docs` brings the row back
    assert docs.main(["--check", "--readme", str(readme)]) == 1
    assert docs.main(["--readme", str(readme)]) == 0
    assert "| `availabilityZones` |" in readme.read_text()
    assert docs.main(["--check", "--readme", str(readme)]) == 0
