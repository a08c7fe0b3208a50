"""A second process beside Västbas, for tests of what the UI does with several workflows.

`two_workflows(monkeypatch, tmp_path)` points the registry at a directory holding the real
vastbas.yaml and a copy of it named `testrutin` (title "Testrutin", prefix "TR"), so the
generic parts are tested without depending on any other real workflow file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vastbas import workflow
from vastbas.queries import common

OTHER = "testrutin"
OTHER_TITLE = "Testrutin"


def _clear() -> None:
    workflow.workflow_named.cache_clear()
    common.all_workflows.cache_clear()


def two_workflows(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Use as a fixture body: yields the directory; the real registry is back afterwards."""
    folder = tmp_path / "workflows"
    folder.mkdir()
    text = (workflow.WORKFLOW_DIR / "vastbas.yaml").read_text(encoding="utf-8")
    (folder / "vastbas.yaml").write_text(text, encoding="utf-8")
    other = (
        text.replace("name: vastbas", f"name: {OTHER}", 1)
        .replace("title: Västbas", f"title: {OTHER_TITLE}", 1)
        .replace("reference_prefix: VB", "reference_prefix: TR", 1)
    )
    (folder / f"{OTHER}.yaml").write_text(other, encoding="utf-8")
    _clear()
    monkeypatch.setattr(workflow, "WORKFLOW_DIR", folder)
    yield folder
    monkeypatch.undo()
    _clear()
