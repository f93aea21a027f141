"""docs/explanation/architecture.md's "may import" table says what each package imports, and keeps
to the import-linter contracts of pyproject.toml, whose layers and independent packages the page
names: the page cannot drift from the code again.

The table's third column lists backticked package names (what follows in parentheses is a note),
`nothing of ours`, or `anything` (a composition root); every package may import `errors`.
After a package is renamed, moved or added, edit its row (and the contracts): the failing
assertion lists what differs.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "explanation" / "architecture.md"
ANYTHING = "anything"
EVERYONE = {"errors"}
"""What every package may import without the table saying so."""


def table() -> dict[str, set[str] | None]:
    """Package → the packages its row says it may import (None: anything)."""
    rows: dict[str, set[str] | None] = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        may = cells[2]
        if may == ANYTHING:
            rows[cells[0].strip("`")] = None
            continue
        names = re.findall(r"`([^`]+)`", re.sub(r"\([^)]*\)", "", may))
        rows[cells[0].strip("`")] = {name.split(".")[0] for name in names} - EVERYONE
    return rows


def imports() -> dict[str, set[str]]:
    """Package → the other packages of ours its modules import (type-only imports included)."""
    graph = grimp.build_graph("xconduit")
    found: dict[str, set[str]] = {}
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 2 or parts[1] == "__main__":
            continue
        targets = found.setdefault(parts[1], set())
        for imported in graph.find_modules_directly_imported_by(module):
            other = imported.split(".")
            if other[0] == "xconduit" and len(other) > 1 and other[1] != parts[1]:
                targets.add(other[1])
    return found


def contracts() -> list[dict[str, object]]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        found: list[dict[str, object]] = tomllib.load(handle)["tool"]["importlinter"]["contracts"]
    return found


def _short(modules: object) -> list[str]:
    assert isinstance(modules, list)
    return [str(module).removeprefix("xconduit.") for module in modules]


def refusal(package: str, imported: str) -> str | None:
    """The contract that forbids `package` to import `imported`, None when none does."""
    for contract in contracts():
        kind = contract["type"]
        if kind == "layers":
            layers = _short(contract["layers"])
            both = package in layers and imported in layers
            refused = both and layers.index(imported) <= layers.index(package)
        elif kind == "forbidden":
            sources, forbidden = contract["source_modules"], contract["forbidden_modules"]
            refused = package in _short(sources) and imported in _short(forbidden)
        elif kind == "independence":
            refused = {package, imported} <= set(_short(contract["modules"]))
        else:  # a kind of contract the table does not speak of
            refused = False
        if refused:
            return str(contract["name"])
    return None


def test_the_table_has_a_row_for_every_package_and_module() -> None:
    assert sorted(table()) == sorted(imports())


def test_each_row_lists_what_the_package_imports() -> None:
    actual = imports()
    wrong = {
        package: {
            "imported, not in the table": sorted(actual.get(package, set()) - EVERYONE - may),
            "in the table, not imported": sorted(may - actual.get(package, set())),
        }
        for package, may in table().items()
        if may is not None and may != actual.get(package, set()) - EVERYONE
    }
    assert wrong == {}


def test_the_table_keeps_to_the_contracts() -> None:
    actual = imports()
    refused = [
        f"{package} → {imported}: {reason}"
        for package, may in table().items()
        for imported in sorted(actual.get(package, set()) if may is None else may)
        if (reason := refusal(package, imported)) is not None
    ]
    assert refused == []


def test_the_page_names_the_layers_and_the_independent_packages_of_the_contracts() -> None:
    text = " ".join(DOC.read_text().split())
    chain = re.search(r"\((`\w+`(?: → `\w+`)+)\)", text)
    alone = re.search(r"keeps ((?:`\w+`(?:, | and )?)+) from importing one another", text)
    assert chain is not None
    assert alone is not None
    [layers] = [c for c in contracts() if c["type"] == "layers"]
    [independence] = [c for c in contracts() if c["type"] == "independence"]
    assert re.findall(r"`(\w+)`", chain.group(1)) == _short(layers["layers"])
    assert sorted(re.findall(r"`(\w+)`", alone.group(1))) == sorted(_short(independence["modules"]))
