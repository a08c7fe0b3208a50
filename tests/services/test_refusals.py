"""Refusals: what a user is told when a step, a role, a version or an appointment is wrong.

A refused call writes nothing: the case keeps its version and step, and no audit event
is added.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from builders import case_at, municipality
from freezegun import freeze_time
from sqlalchemy.orm import Session

from vastbas import clock, demo, demo_sip
from vastbas.engine import available_transitions
from vastbas.enums import CaseRole, InitiatorKind, ParticipantKind, Profession
from vastbas.errors import Conflict, InvalidInput, NotAllowed, NotFound, RuleBroken
from vastbas.facts import case_facts
from vastbas.models import Case, Event, Person
from vastbas.services import assignments, cases, meetings, network, transitions
from vastbas.services.base import load_case, roles_on, workflow_of

PRE_MEETING_MISSING = [
    "Förmötet är inte hållet.",
    "Problemanalysen saknas.",
    "Syftet med nätverksarbetet saknas.",
    "Språkrör är inte utsett.",
    "Gästlistan är tom.",
    "Nätverksmöte 1 är inte bokat.",
]
CONFLICT = "Ärendet har ändrats av någon annan. Ladda om sidan och försök igen."
NOT_YOUR_STEP = "Din roll i ärendet ger inte behörighet till detta steg."
NOT_IN_EHT = (
    "Personen ingår inte i elevhälsoteamet på barnets enhet. "
    "Välj kontaktperson bland elevhälsoteamets medlemmar."
)
NO_REKTOR = (
    "En rektor kan inte vara kontaktperson eftersom rektorn fattar beslut i sin "
    "myndighetsutövning. Välj en annan person ur elevhälsoteamet."
)
NO_SOCIALSEKRETERARE = (
    "En socialsekreterare kan inte vara kontaktperson eftersom socialsekreteraren "
    "fattar beslut i sin myndighetsutövning. Välj en person ur elevhälsoteamet."
)


def written(walker: demo.Walker) -> tuple[int, int, str]:
    """What a refused call must leave as it was: the version, the audit log, the step."""
    case = walker.case
    events = walker.db.scalar(sa.select(sa.func.count()).select_from(Event))
    return case.version, events, case.state


def outsider(people: demo.People, unit: int = 2) -> Person:
    """A kurator at another school: has an account, and no role on the test's case."""
    return people.units[unit].eht[0]


def test_a_trigger_of_another_step_is_refused_naming_the_current_step(db: Session) -> None:
    walker = case_at(db, municipality(db), "offer")
    k1 = walker.holder(CaseRole.KOORDINATOR_1)
    before = written(walker)

    for trigger in ("complete_network_meeting_1", "start_assessment", "no_such_trigger"):
        with pytest.raises(RuleBroken) as refused:
            walker.fire(trigger, k1)
        assert refused.value.message == (
            "Det går inte att göra detta när ärendet är i steget Erbjudande till familjen."
        )
    assert written(walker) == before


def test_a_step_that_is_not_done_lists_everything_still_missing(db: Session) -> None:
    walker = case_at(db, municipality(db), "pre_meeting")
    before = written(walker)

    with pytest.raises(RuleBroken) as refused:
        walker.fire("complete_pre_meeting", walker.holder(CaseRole.KOORDINATOR_1))

    assert refused.value.message == "Ärendet kan inte gå vidare från steget Förmöte. Det saknas:"
    assert refused.value.reasons == PRE_MEETING_MISSING
    assert "Språkrör är inte utsett." in str(refused.value)
    assert written(walker) == before


def test_a_role_that_may_not_take_the_step_is_not_allowed(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "offer")
    rektor = people.units[0].rektor_id
    assert rektor is not None
    before = written(walker)

    for actor in (rektor, people.samordnare.id):  # both see the case; neither is koordinator
        with pytest.raises(NotAllowed) as refused:
            walker.fire("family_accepts", actor)
        assert refused.value.message == NOT_YOUR_STEP
    with pytest.raises(NotAllowed):
        walker.call(cases.record_child_voice, actor=rektor, text="Vill vara med.")
    assert written(walker) == before


def test_someone_without_a_role_on_the_case_is_told_it_does_not_exist(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "offer")
    on_the_case = {walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)}
    koordinator = next(p for p in people.koordinatorer if p.id not in on_the_case)
    before = written(walker)

    for actor in (outsider(people).id, koordinator.id):
        with pytest.raises(NotFound) as refused:
            walker.fire("family_accepts", actor)
        assert refused.value.message == f"Ärendet {walker.reference} finns inte."
        with pytest.raises(NotFound):
            walker.call(cases.record_child_voice, actor=actor, text="Vill vara med.")
    assert written(walker) == before


def test_an_unknown_reference_is_not_found(db: Session) -> None:
    people = municipality(db)
    case_at(db, people, "request")

    for actor in (people.samordnare.id, outsider(people).id):
        with pytest.raises(NotFound) as refused:
            transitions.fire(db, "VB-2026-9999", "reject_case", actor=actor, expected_version=1)
        assert refused.value.message == "Ärendet VB-2026-9999 finns inte."


def test_a_change_on_a_version_someone_else_changed_is_a_conflict(db: Session) -> None:
    walker = case_at(db, municipality(db), "offer")
    k1, k2 = walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)
    seen = walker.case.version
    walker.call(network.add_network_entry, actor=k2, kind=ParticipantKind.SKOLA, name="Mentor")
    before = written(walker)

    with pytest.raises(Conflict) as refused:
        cases.record_child_voice(db, walker.reference, actor=k1, expected_version=seen, text="Ja.")

    assert refused.value.message == CONFLICT
    assert refused.value.current_version == before[0]
    with pytest.raises(Conflict):
        transitions.fire(db, walker.reference, "family_declines", actor=k1, expected_version=seen)
    assert written(walker) == before
    assert walker.case.child_voice is None


def test_two_changes_in_the_same_instant_still_conflict(db: Session) -> None:
    walker = case_at(db, municipality(db), "offer")
    k1, k2 = walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)

    with freeze_time(clock.now()):
        walker.call(network.add_network_entry, actor=k1, kind="skola", name="Mentor")
        seen = walker.case.version  # both koordinatorer open the case now
        walker.call(network.add_network_entry, actor=k1, kind="sjukvard", name="BUP")
        assert walker.case.version > seen
        with pytest.raises(Conflict):
            network.add_network_entry(
                db, walker.reference, actor=k2, expected_version=seen, kind="tolk", name="Tolk"
            )


def test_a_personnummer_with_a_wrong_check_digit_is_refused_naming_the_field(
    db: Session,
) -> None:
    people = municipality(db)
    valid = demo.fictional_personnummer(2015, 4, 12, 7)
    wrong = valid[:-1] + str((int(valid[-1]) + 1) % 10)

    with pytest.raises(InvalidInput) as refused:
        cases.register_request(
            db,
            actor=people.units[0].eht[0].id,
            child_name="Alice Andersson",
            child_personnummer=wrong,
            unit_id=people.units[0].id,
            initiator_kind=InitiatorKind.SKOLA,
        )

    assert list(refused.value.fields) == ["child_personnummer"]
    assert "kontrollsiffran" in refused.value.fields["child_personnummer"]
    assert db.scalar(sa.select(sa.func.count()).select_from(Case)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_koordinatorer_who_are_not_free_of_the_case_are_refused_with_reasons(
    db: Session,
) -> None:
    people = municipality(db)
    walker = case_at(db, people, "assessment")
    sam = people.samordnare.id
    free = assignments.koordinator_suggestions(db, load_case(db, walker.reference)).eligible
    at_school = next(p for p in people.koordinatorer if p.unit_id == walker.case.unit_id)
    before = written(walker)
    first, second, stranger = free[0].person_id, free[1].person_id, outsider(people).id
    attempts = {
        (first, first): "Koordinator 1 och 2 måste vara två olika personer.",
        (first, stranger): "Koordinator 2: Personen ingår inte i koordinatorpoolen.",
        (at_school.id, second): "Koordinator 1: Personen arbetar på barnets enhet.",
    }

    for (k1, k2), reason in attempts.items():
        with pytest.raises(RuleBroken) as refused:
            walker.call(assignments.appoint_koordinatorer, k1, k2, actor=sam)
        assert refused.value.message == "Koordinatorerna kan inte utses."
        [given] = refused.value.reasons
        assert given.startswith(reason), given
    assert written(walker) == before
    assert walker.case.assignments == []


def test_a_kontaktperson_must_be_from_the_units_eht_and_not_decide_over_the_child(
    db: Session,
) -> None:
    people = municipality(db)
    walker = case_at(db, people, "network_meeting_1")
    unit = people.units[0]
    socialsekreterare = next(
        p for p in people.koordinatorer if p.profession == Profession.SOCIALSEKRETERARE
    )
    unit.eht.append(socialsekreterare)  # the unit lets social services sit in its EHT
    db.commit()
    rektor = unit.rektor_id
    assert rektor is not None
    before = written(walker)
    expected = {
        rektor: [NOT_IN_EHT, NO_REKTOR],
        socialsekreterare.id: [NO_SOCIALSEKRETERARE],
        outsider(people).id: [NOT_IN_EHT],
    }

    for candidate, reasons in expected.items():
        with pytest.raises(RuleBroken) as refused:
            walker.call(assignments.appoint_kontaktperson, candidate, actor=rektor)
        assert refused.value.message == "Personen kan inte vara kontaktperson."
        assert refused.value.reasons == reasons
    assert written(walker) == before
    assert walker.case.current(CaseRole.KONTAKTPERSON) is None


def test_only_the_units_rektor_or_the_samordnare_on_their_behalf_appoints_the_kontaktperson(
    db: Session,
) -> None:
    people = municipality(db)
    walker = case_at(db, people, "network_meeting_1")
    unit, other_rektor = people.units[0], people.units[1].rektor_id
    assert unit.rektor_id is not None and other_rektor is not None
    kurator = next(p for p in unit.eht if p.profession == Profession.KURATOR)
    before = written(walker)

    with pytest.raises(NotFound):
        walker.call(assignments.appoint_kontaktperson, kurator.id, actor=other_rektor)
    assert written(walker) == before
    walker.call(assignments.appoint_kontaktperson, kurator.id, actor=people.samordnare.id)

    kontaktperson = walker.case.current(CaseRole.KONTAKTPERSON)
    assert kontaktperson is not None and kontaktperson.person_id == kurator.id
    assert kontaktperson.appointed_by_id == people.samordnare.id
    assert kontaktperson.on_behalf_of_id == unit.rektor_id


def test_a_sprakror_needs_the_guardians_confirmed_trust(db: Session) -> None:
    walker = case_at(db, municipality(db), "pre_meeting")
    before = written(walker)

    with pytest.raises(RuleBroken) as refused:
        walker.call(
            assignments.appoint_sprakror,
            actor=walker.holder(CaseRole.KOORDINATOR_1),
            outside_name="Moster till barnet",
            trust_confirmed_by_guardian=False,
        )

    assert refused.value.message == "Språkröret kan inte utses."
    assert refused.value.reasons == [
        "Vårdnadshavarens förtroende för språkröret är inte bekräftat. "
        "Fråga vårdnadshavaren och markera förtroendet som bekräftat."
    ]
    assert written(walker) == before


def test_a_replaced_koordinator_stays_in_the_history_and_loses_the_case(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "offer")
    old, k2 = walker.holder(CaseRole.KOORDINATOR_1), walker.holder(CaseRole.KOORDINATOR_2)
    free = assignments.koordinator_suggestions(db, load_case(db, walker.reference)).eligible
    new = next(c.person_id for c in free if c.person_id not in (old, k2))

    walker.call(assignments.appoint_koordinatorer, new, k2, actor=people.samordnare.id)

    history = [(a.role, a.person_id, a.ended_at is None) for a in walker.case.assignments]
    assert history == [
        (CaseRole.KOORDINATOR_1, old, False),
        (CaseRole.KOORDINATOR_2, k2, True),
        (CaseRole.KOORDINATOR_1, new, True),
    ]
    event = db.scalars(sa.select(Event).order_by(Event.id.desc()).limit(1)).one()
    assert (event.before, event.after) == ({"koordinator_1": old}, {"koordinator_1": new})
    with pytest.raises(NotFound):
        walker.call(cases.record_child_voice, actor=old, text="Vill gå i skolan.")
    walker.call(cases.record_child_voice, actor=new, text="Vill gå i skolan.")


def test_k1_sees_what_the_pre_meeting_needs_and_a_sprakror_sees_no_step(db: Session) -> None:
    people = municipality(db)
    walker = case_at(db, people, "pre_meeting")
    k1 = db.get(Person, walker.holder(CaseRole.KOORDINATOR_1))
    staff = people.units[3].eht[2]  # a specialpedagog at another school
    walker.call(
        assignments.appoint_sprakror,
        actor=k1.id,  # type: ignore[union-attr]
        person_id=staff.id,
        trust_confirmed_by_guardian=True,
    )
    case = load_case(db, walker.reference)

    offered = {t.trigger: t for t in transitions.transitions_for(case, roles_on(case, k1))}  # type: ignore[arg-type]

    assert list(offered) == ["complete_pre_meeting", "refer_to_authority", "withdraw_consent"]
    missing = [m for m in PRE_MEETING_MISSING if m != "Språkrör är inte utsett."]
    assert list(offered["complete_pre_meeting"].missing) == missing
    assert not offered["complete_pre_meeting"].ready
    for exit_ in ("refer_to_authority", "withdraw_consent"):
        assert offered[exit_].ready and offered[exit_].requires_reason
    assert roles_on(case, staff) == {"sprakror", "any_user"}
    assert transitions.transitions_for(case, roles_on(case, staff)) == []
    workflow = workflow_of(case)
    assert available_transitions(workflow, case_facts(case), frozenset({"sprakror"})) == []


def test_a_request_for_a_process_that_is_not_a_workflow_file_is_refused(db: Session) -> None:
    people = municipality(db)
    for name in ("finns_inte", "../vastbas", "/etc/passwd"):
        with pytest.raises(InvalidInput, match="Processen finns inte"):
            cases.register_request(
                db,
                actor=people.samordnare.id,
                child_name="Alice Andersson",
                child_personnummer=demo.fictional_personnummer(2015, 4, 12, 7),
                unit_id=people.units[0].id,
                initiator_kind=InitiatorKind.SKOLA,
                background="Oro",
                workflow=name,
            )


def test_a_kind_the_workflow_file_does_not_offer_is_refused_by_the_service(db: Session) -> None:
    """The forms offer only the file's kinds; the services (and so the API) hold the line too."""
    people = municipality(db)
    walker = demo_sip.SipWalker(
        db, people, demo_sip.register(db, people, 41, people.units[0]).reference
    )
    demo_sip.walk_to(walker, "invitation")
    case = walker.case
    sammankallande = case.current(CaseRole.SAMMANKALLANDE).person_id
    with pytest.raises(InvalidInput, match="Välj vilket möte det är"):
        meetings.book_meeting(
            db, case.reference, actor=sammankallande, expected_version=case.version,
            kind="network_meeting_1", starts_at=clock.now() + timedelta(days=25),
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="Välj vilken sorts deltagare"):
        network.add_network_entry(
            db, case.reference, actor=sammankallande, expected_version=case.version,
            kind="familj", name="Moster",
        )  # fmt: skip
