"""How a case ends, from every step where it can end, and how a closed case is reopened."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from sqlalchemy.orm import Session

from vastbas import demo
from vastbas.enums import CaseRole
from vastbas.errors import InvalidInput, NotAllowed, NotFound, RuleBroken
from vastbas.models import Event
from vastbas.services import assignments, cases
from vastbas.workflow import workflow_named

OPEN_STEPS = [
    "request", "assessment", "offer", "pre_meeting", "network_meeting_1",
    "network_meeting_2", "interventions", "follow_up", "new_interventions", "evaluation",
]  # fmt: skip
REASON = "Socialtjänsten har inlett en utredning."
NO_CONSENT = "Familjens samtycke är inte registrerat."


def nearest(walker: demo.Walker) -> int:
    """The person closest to the family on the case: kontaktperson, else K1, else samordnare."""
    for role in (CaseRole.KONTAKTPERSON, CaseRole.KOORDINATOR_1):
        assignment = walker.case.current(role)
        if assignment is not None:
            return assignment.person_id
    return walker.people.samordnare.id


def written(walker: demo.Walker) -> tuple[int, int, str]:
    """What a refused call must leave as it was: the version, the audit log, the step."""
    case = walker.case
    events = walker.db.scalar(sa.select(sa.func.count()).select_from(Event))
    return case.version, events, case.state


def last_event(db: Session) -> Event:
    return db.scalars(sa.select(Event).order_by(Event.id.desc()).limit(1)).one()


def assert_a_reason_is_required(
    walker: demo.Walker, trigger: str, actor: int, blanks: tuple[str | None, ...] = (None, "", "  ")
) -> None:
    before = written(walker)
    for reason in blanks:
        with pytest.raises(InvalidInput) as refused:
            walker.fire(trigger, actor, reason=reason)
        assert refused.value.message == "Ange ett skäl."
        assert written(walker) == before


def assert_closed(walker: demo.Walker, outcome: str, reason: str) -> None:
    case = walker.case
    assert (case.state, case.outcome, case.outcome_reason) == ("closed", outcome, reason)
    assert case.closed_at is not None
    assert all(a.ended_at is not None for a in case.assignments)


def test_the_samordnare_decides_it_is_not_a_vastbas_case(db: Session) -> None:
    walker = case_at(db, municipality(db), "assessment")
    assert_a_reason_is_required(walker, "reject_case", walker.people.samordnare.id)

    walker.fire("reject_case", walker.people.samordnare.id, reason="Myndighetsutövning räcker.")

    assert_closed(walker, "not_vastbas", "Myndighetsutövning räcker.")
    assert workflow_named("vastbas").outcomes["not_vastbas"] == "Inte ett Västbasärende"


def test_the_family_declines_and_the_koordinatorer_are_free_again(db: Session) -> None:
    walker = case_at(db, municipality(db), "offer")
    pair = [walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)]
    assert assignments.open_caseloads(db, pair) == {pair[0]: 1, pair[1]: 1}
    assert_a_reason_is_required(walker, "family_declines", pair[1])

    walker.fire("family_declines", pair[1], reason="Familjen vill inte just nu.")

    assert_closed(walker, "declined_by_family", "Familjen vill inte just nu.")
    assert assignments.open_caseloads(db, pair) == {}


@pytest.mark.parametrize("state", OPEN_STEPS)
def test_a_case_is_referred_or_consent_withdrawn_from_every_open_step(
    db: Session, state: str
) -> None:
    # Two children in the same step: one case goes to myndighetsutövning, one loses consent.
    people = municipality(db)
    referred, withdrawn = case_at(db, people, state, n=1), case_at(db, people, state, n=2)
    assert (referred.case.state, withdrawn.case.state) == (state, state)
    assert_a_reason_is_required(referred, "refer_to_authority", nearest(referred), ("  ",))
    assert_a_reason_is_required(withdrawn, "withdraw_consent", nearest(withdrawn), ("",))

    referred.fire("refer_to_authority", nearest(referred), reason=REASON)
    assert_closed(referred, "referred_to_authority", REASON)
    assert_closing_event(db, "refer_to_authority", state)
    withdrawn.fire("withdraw_consent", nearest(withdrawn), reason=REASON)
    assert_closed(withdrawn, "consent_withdrawn", REASON)
    assert_closing_event(db, "withdraw_consent", state)

    assert referred.case.active_consent is not None
    [consent] = withdrawn.case.consents
    assert consent.withdrawn_at is not None and consent.withdrawn_reason == REASON
    assert withdrawn.case.active_consent is None


def assert_closing_event(db: Session, trigger: str, state: str) -> None:
    event = last_event(db)
    assert (event.action, event.before["state"], event.after["state"]) == (trigger, state, "closed")
    assert REASON not in str(event.after)


def test_only_the_samordnare_reopens_a_case_as_a_new_period(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "offer")
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    walker.fire("refer_to_authority", k1, reason=REASON)
    rektor = people.units[0].rektor_id
    assert rektor is not None
    before = written(walker)

    with pytest.raises(NotAllowed):
        walker.fire("reopen", rektor, reason="Ny oro.")
    with pytest.raises(NotFound):  # the koordinator's appointment ended with the case
        walker.fire("reopen", k1, reason="Ny oro.")
    assert written(walker) == before
    assert_a_reason_is_required(walker, "reopen", people.samordnare.id)
    walker.fire("reopen", people.samordnare.id, reason="Ny oro från skolan.")

    case = walker.case
    assert (case.state, case.period, case.outcome, case.closed_at) == ("request", 2, None, None)
    assert case.current(CaseRole.KOORDINATOR_1) is None
    walker.fire("start_assessment", people.samordnare.id)  # the consent was never withdrawn
    assert walker.case.state == "assessment"


def test_a_case_reopened_after_consent_was_withdrawn_needs_new_consent(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "assessment")
    sam = people.samordnare.id
    walker.fire("withdraw_consent", sam, reason="Vårdnadshavaren återkallar.")
    walker.fire("reopen", sam, reason="Familjen hör av sig igen.")

    with pytest.raises(RuleBroken) as refused:
        walker.fire("start_assessment", sam)

    assert refused.value.reasons == [NO_CONSENT]
    walker.call(cases.record_consent, actor=sam, given_by="Vårdnadshavare", actors=["skola"])
    walker.fire("start_assessment", sam)
    assert (walker.case.state, walker.case.period) == ("assessment", 2)


def test_withdrawing_consent_withdraws_a_renewed_consent_and_the_earlier_one(
    db: Session,
) -> None:
    people = municipality(db)
    walker = case_at(db, people, "offer")
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    walker.call(cases.record_consent, actor=k1, given_by="Vårdnadshavare 2", actors=["BUP"])
    sam = people.samordnare.id
    walker.fire("withdraw_consent", k1, reason="Vårdnadshavarna återkallar.")
    walker.fire("reopen", sam, reason="Familjen hör av sig igen.")

    assert walker.case.active_consent is None
    with pytest.raises(RuleBroken) as refused:
        walker.fire("start_assessment", sam)
    assert refused.value.reasons == [NO_CONSENT]


def test_a_closed_case_accepts_no_trigger_but_reopen(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "request")
    sam = people.samordnare.id
    walker.fire("refer_to_authority", sam, reason=REASON)
    before = written(walker)

    for transition in workflow_named("vastbas").transitions:
        if transition.trigger == "reopen":
            continue
        with pytest.raises(RuleBroken) as refused:
            walker.fire(transition.trigger, sam, reason="Försök.")
        assert "steget Avslutat" in refused.value.message
        assert written(walker) == before

    walker.fire("reopen", sam, reason="Ny oro.")
    assert walker.case.state == "request"
