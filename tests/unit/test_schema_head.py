"""The start-up schema check reads the head revision without Alembic; it must agree with it."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from fluenzr.storage.migrate import alembic_config
from fluenzr.storage.schema import VERSIONS, head_revisions


def test_head_equals_alembics_heads() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert head_revisions() == frozenset(script.get_heads())
    assert head_revisions(VERSIONS)  # never empty: there are migrations


def _write(folder: Path, name: str, body: str) -> None:
    (folder / name).write_text(f'"""{name}\n\nRevision ID: x\n"""\n{body}\n', encoding="utf-8")


def test_any_revision_ids_typed_template_and_merges(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.py", 'revision = "0001"\ndown_revision = None')
    _write(
        tmp_path, "0005_vaultbind.py", 'revision: str = "0005_vaultbind"\ndown_revision = "0001"'
    )
    _write(
        tmp_path, "0005_egress.py", "revision = '0005_egress'\ndown_revision: str | None = '0001'"
    )
    assert head_revisions(tmp_path) == {"0005_vaultbind", "0005_egress"}  # two heads, unchained
    _write(
        tmp_path,
        "0006_merge.py",
        'revision = "0006"\ndown_revision = ("0005_vaultbind", "0005_egress")',
    )
    assert head_revisions(tmp_path) == {"0006"}


def test_unparsable_file_means_unknown_so_alembic_decides(tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.py", 'revision = "0001"\ndown_revision = None')
    _write(tmp_path, "0002_b.py", 'revision = make_id()\ndown_revision = "0001"')
    assert head_revisions(tmp_path) is None
