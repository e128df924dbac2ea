"""The course reads as a sequence: numbered titles, and links that lead somewhere."""
import re

import pytest

from conftest import REPO, notebooks_in, read

LINK = re.compile(r"\]\(([^)#\s]+\.ipynb)\)")


def markdown(nb):
    return [c.source for c in nb.cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", notebooks_in("source"), ids=lambda p: p.stem)
def test_title_is_numbered_like_the_folder(path):
    first = markdown(read(path))[0]
    number = path.parent.name[:2]
    assert first.startswith(f"# {number} · "), f"{path.name}: the first cell should start with '# {number} · Title'"


@pytest.mark.parametrize("path", notebooks_in("source"), ids=lambda p: p.stem)
def test_every_notebook_link_resolves(path):
    for text in markdown(read(path)):
        for target in LINK.findall(text):
            assert (path.parent / target).resolve().is_file(), f"{path.name}: broken link {target}"


@pytest.mark.parametrize("path", notebooks_in("source"), ids=lambda p: p.stem)
def test_navigation_at_top_and_bottom(path):
    cells = markdown(read(path))
    for where, text in (("first", cells[0]), ("last", cells[-1])):
        assert LINK.search(text), f"{path.name}: the {where} cell has no previous/next navigation link"


def test_start_page_maps_every_notebook():
    start = "\n".join(markdown(read(REPO / "source" / "00_start_here" / "00_start_here.ipynb")))
    for path in notebooks_in("source")[1:]:
        assert f"../{path.parent.name}/{path.name}" in start, f"the course map does not list {path.name}"
