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
