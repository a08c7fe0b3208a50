"""The app starts from the environment and says whether it can reach its database."""

from __future__ import annotations

from pathlib import Path

import pytest

from vastbas import workflow
from vastbas.migrations import upgrade_database
from web import create_app


def test_health_is_ok_with_a_reachable_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'vastbas.sqlite3'}"
    upgrade_database(url)
    monkeypatch.setenv("DATABASE_URL", url)
    client = create_app({"TESTING": True}).test_client()

    response = client.get("/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok"}


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-vastbas-dir/missing/vastbas.sqlite3",
        "postgresql://vastbas@127.0.0.1:1/vastbas",
    ],
    ids=["sqlite-in-missing-directory", "postgres-on-closed-port"],
)
def test_health_is_503_when_the_database_cannot_be_reached(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    client = create_app({"TESTING": True}).test_client()

    response = client.get("/health")

    assert response.status_code == 503
    assert response.get_json()["db"] == "error"


def test_config_given_to_the_factory_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VASTBAS_SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")

    app = create_app({"SECRET_KEY": "from-the-test"})

    assert app.config["SECRET_KEY"] == "from-the-test"
    assert app.config["DATABASE_URL"].endswith("a.sqlite3")


def test_the_start_page_is_swedish(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")

    response = create_app().test_client().get("/login")

    assert response.status_code == 200
    assert 'lang="sv"' in response.text
    assert "Västbas" in response.text


def test_a_broken_workflow_file_stops_the_app_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "vastbas.yaml").write_text("name: vastbas\nstates: [\n", encoding="utf-8")
    monkeypatch.setattr(workflow, "WORKFLOW_DIR", tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'a.sqlite3'}")
    workflow.workflow_named.cache_clear()
    try:
        with pytest.raises(workflow.WorkflowError, match=r"vastbas\.yaml:\d+:"):
            create_app()
    finally:
        monkeypatch.undo()
        workflow.workflow_named.cache_clear()
