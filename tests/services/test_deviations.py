"""Deviations: reported on a case, followed up by the samordnare (ny → utreds → åtgärdad)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from builders import case_at, municipality
from sqlalchemy.orm import Session

from vastbas.demo import People, Walker
from vastbas.enums import CaseRole, DeviationStatus
from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken
from vastbas.models import Case, Deviation, Event
from vastbas.queries.deviations import deviation_for_follow_up, deviation_list
from vastbas.services import accounts
from vastbas.services.deviations import follow_up_deviation, register_deviation, seen_token

TEXT = "Skolan kom inte till nätverksmöte 1 trots kallelse."


@pytest.fixture(autouse=True)
def cheap_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo passwords hashed with the cheapest argon2 settings: these tests never log in."""
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def people(db: Session) -> People:
    return municipality(db)


@pytest.fixture
def walker(db: Session, people: People) -> Walker:
    return case_at(db, people, "offer")


def report(db: Session, walker: Walker, text: str = TEXT) -> int:
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    return walker.call(register_deviation, actor=k1, description=text).id


def stored(db: Session, deviation_id: int) -> Deviation:
    db.expire_all()
    deviation = db.get(Deviation, deviation_id)
    assert deviation is not None
    return deviation


def follow(
    db: Session, people: People, deviation_id: int, status: str, text: str | None, **kw: object
) -> Deviation:
    current = stored(db, deviation_id)
    return follow_up_deviation(
        db,
        deviation_id,
        actor=kw.get("actor", people.samordnare.id),  # type: ignore[arg-type]
        status=status,
        follow_up=text,
        seen=kw.get("seen", seen_token(current.status, current.follow_up)),  # type: ignore[arg-type]
    )


def events(db: Session) -> list[Event]:
    return list(
        db.scalars(sa.select(Event).where(Event.action == "follow_up_deviation").order_by(Event.id))
    )


def test_the_samordnare_investigates_then_closes_a_deviation_with_one_event_each(
    db: Session, people: People, walker: Walker
) -> None:
    deviation_id = report(db, walker)
    version = walker.case.version

    follow(db, people, deviation_id, "utreds", "Rektor kontaktad.")
    follow(db, people, deviation_id, "atgardad", "Rutin för kallelser till skolan ses över.")

    deviation = stored(db, deviation_id)
    assert deviation.status == DeviationStatus.ATGARDAD
    assert deviation.follow_up == "Rutin för kallelser till skolan ses över."
    made = events(db)
    assert [(e.before["status"], e.after["status"]) for e in made] == [
        ("ny", "utreds"),
        ("utreds", "atgardad"),
    ]
    assert all(e.case_id == walker.case.id and e.actor_id == people.samordnare.id for e in made)
    # The audit log says that a follow-up was written, never what it says.
    assert "Rektor" not in repr([(e.before, e.after) for e in made])
    # Following up is not activity on the child's case: nobody's open case form goes stale.
    assert walker.case.version == version


def test_a_deviation_is_marked_atgardad_only_with_a_written_follow_up(
    db: Session, people: People, walker: Walker
) -> None:
    deviation_id = report(db, walker)
    with pytest.raises(InvalidInput, match="Skriv vad som har gjorts") as refused:
        follow(db, people, deviation_id, "atgardad", "   ")
    assert "follow_up" in refused.value.fields
    assert stored(db, deviation_id).status == DeviationStatus.NY
    assert events(db) == []


def test_an_investigated_deviation_cannot_become_new_again(
    db: Session, people: People, walker: Walker
) -> None:
    deviation_id = report(db, walker)
    follow(db, people, deviation_id, "utreds", None)
    with pytest.raises(RuleBroken, match="kan inte bli ny igen"):
        follow(db, people, deviation_id, "ny", None)
    with pytest.raises(InvalidInput, match="Välj en status"):
        follow(db, people, deviation_id, "stängd", None)
    assert stored(db, deviation_id).status == DeviationStatus.UTREDS


def test_a_koordinator_cannot_change_the_status_and_an_outsider_is_not_told_it_exists(
    db: Session, people: People, walker: Walker
) -> None:
    deviation_id = report(db, walker)
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    on_case = {a.person_id for a in walker.case.assignments}
    outsider = next(p.id for p in people.koordinatorer if p.id not in on_case)

    with pytest.raises(NotAllowed, match="samordnaren"):
        follow(db, people, deviation_id, "utreds", "Jag utreder själv.", actor=k1)
    with pytest.raises(NotFound):
        follow(db, people, deviation_id, "utreds", None, actor=outsider)
    with pytest.raises(NotFound):
        follow_up_deviation(
            db, 9999, actor=people.samordnare.id, status="utreds", follow_up="", seen=""
        )
    assert stored(db, deviation_id).status == DeviationStatus.NY
    assert events(db) == []


def test_a_follow_up_on_a_deviation_changed_since_it_was_read_is_refused(
    db: Session, people: People, walker: Walker
) -> None:
    deviation_id = report(db, walker)
    seen_before = seen_token(DeviationStatus.NY, None)
    follow(db, people, deviation_id, "utreds", "Första samordnarens anteckning.")

    with pytest.raises(Conflict):
        follow(db, people, deviation_id, "atgardad", "Andra skriver över.", seen=seen_before)
    assert stored(db, deviation_id).follow_up == "Första samordnarens anteckning."
    assert len(events(db)) == 1


def test_saving_the_same_follow_up_again_writes_nothing(
    db: Session, people: People, walker: Walker
) -> None:
    deviation_id = report(db, walker)
    follow(db, people, deviation_id, "utreds", "Anteckning.")
    follow(db, people, deviation_id, "utreds", " Anteckning. ")
    assert len(events(db)) == 1


def test_the_list_shows_open_deviations_first_and_filters_by_status(
    db: Session, people: People, walker: Walker
) -> None:
    new, investigated, done = (report(db, walker, f"Avvikelse {n}.") for n in range(3))
    follow(db, people, investigated, "utreds", None)
    follow(db, people, done, "atgardad", "Åtgärdat.")
    sam = people.samordnare.id

    default = deviation_list(db, sam)
    assert [row.id for row in default.rows] == [investigated, new]  # newest first, not done
    assert default.counts == {"ny": 1, "utreds": 1, "atgardad": 1}
    assert [row.id for row in deviation_list(db, sam, status="atgardad").rows] == [done]
    assert [row.id for row in deviation_list(db, sam, status="ny").rows] == [new]
    assert len(deviation_list(db, sam, status="alla").rows) == 3
    assert deviation_list(db, sam, status="<script>").status == "oppna"

    row = deviation_for_follow_up(db, sam, done)
    reference = db.scalar(sa.select(Case.reference).where(Case.id == walker.case.id))
    assert (row.reference, row.step_label, row.status_label) == (
        reference,
        "Erbjudande till familjen",
        "Åtgärdad",
    )
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    with pytest.raises(NotAllowed):
        deviation_list(db, k1)
    with pytest.raises(NotAllowed):
        deviation_for_follow_up(db, k1, done)
