"""Every data file shipped with the course has a provenance note that names its exact bytes."""
import hashlib

import pytest

from conftest import REPO

DATA_FILES = sorted(p for p in (REPO / "source").glob("*/data/*") if p.name != "PROVENANCE.md")


def test_course_ships_real_data():
    assert DATA_FILES, "the case study needs at least one real data file under source/*/data/"


@pytest.mark.parametrize("path", DATA_FILES, ids=lambda p: p.name)
def test_provenance_names_the_file_and_its_sha256(path):
    note = path.parent / "PROVENANCE.md"
    assert note.is_file(), f"{path.parent} has no PROVENANCE.md"
    text = note.read_text()
    assert path.name in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() in text, f"{path.name} differs from its provenance note"
    assert "icence" in text or "icense" in text, "the note must state the licence"


BENCHMARK_DATA = REPO / "source" / "09_benchmark" / "data"


def test_benchmark_ships_every_file_its_loader_names_and_nothing_else():
    from imbalanced_course.datasets import DATASETS

    shipped = sorted(p.name for p in BENCHMARK_DATA.iterdir() if p.name != "PROVENANCE.md")
    assert shipped == sorted(DATASETS.values())
    assert len(DATASETS) >= 10
    assert sum((BENCHMARK_DATA / name).stat().st_size for name in shipped) < 5 * 2**20


@pytest.mark.parametrize("name", sorted(p.name for p in BENCHMARK_DATA.glob("*.dat")))
def test_benchmark_file_has_its_own_row_with_sha256_and_citation(name):
    rows = [line for line in (BENCHMARK_DATA / "PROVENANCE.md").read_text().splitlines()
            if line.startswith(f"| `{name}` |")]
    assert len(rows) == 2, f"{name}: PROVENANCE.md needs one row in the file table and one in the sources table"
    assert hashlib.sha256((BENCHMARK_DATA / name).read_bytes()).hexdigest() in rows[0]
    assert "https://doi.org/10.24432/" in rows[1], f"{name}: its source row must cite the UCI data set's DOI"
