"""One child's SIP through every step (001, pp. 8–10), as the people who do it.

`story` is test_walk.Story: `act` calls a service and checks the one audit event, `fire`
moves the case, `missing` reads the checklist the actor is shown.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from vastbas import clock, demo
from vastbas.calendar import local_date
from vastbas.enums import (
    ActionStatus,
    CaseRole,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
)
from vastbas.errors import RuleBroken
from vastbas.services import cases, coordination, followups, meetings, network, plans

CHILD_NAME = "Alice Andersson"
CHILD_PNR = demo.fictional_personnummer(2015, 4, 12, 7)


def walk_sip(story: Any) -> None:
    """Need, consent, invitation, meeting, plan, follow-up, a new plan, follow-up, closing."""
    unit = story.people.units[0]
    sam = story.people.samordnare.id
    case = cases.register_request(
        story.db,
        actor=unit.eht[0].id,
        child_name=CHILD_NAME,
        child_personnummer=CHILD_PNR,
        unit_id=unit.id,
        initiator_kind=InitiatorKind.SKOLA,
        background="Insatser från socialtjänst och sjukvård.",
        consent_given_by="Vårdnadshavare",
        workflow="sip",
    )
    story.reference = case.reference
    story.visited.append(story.case.state)
    assert re.fullmatch(r"SIP-\d{4}-\d{4}", case.reference)
    # 001, p. 8: the written consent names the actors; a consent without them is not enough.
    assert story.missing("decide_sip", sam) == (
        "Samtycket anger inte vilka aktörer som ska delta.",
        "Sammankallande är inte utsedd.",
    )
    story.act(
        cases.record_consent,
        actor=sam,
        given_by="Vårdnadshavare",
        actors=["Skola", "Socialtjänst", "Sjukvård"],
    )
    story.act(coordination.appoint_sammankallande, unit.rektor_id, actor=sam)
    boss = story.holder(CaseRole.SAMMANKALLANDE)
    assert boss == unit.rektor_id
    story.fire("decide_sip", boss)
    assert story.case.state == "invitation"

    for kind, name in (
        (ParticipantKind.VARDNADSHAVARE, "Vårdnadshavare 1"),
        (ParticipantKind.SJUKVARD, "BUP-psykolog"),
    ):
        story.act(network.add_network_entry, actor=boss, kind=kind, name=name, on_guest_list=True)
    assert story.missing("invitations_done", boss) == ("SIP-mötet är inte bokat.",)
    meeting = story.act(
        meetings.book_meeting,
        actor=boss,
        kind=MeetingKind.SIP_MEETING,
        starts_at=clock.now() - timedelta(hours=1),
    )
    assert story.missing("invitations_done", boss) == ("Kallelsen till SIP-mötet är inte skickad.",)
    story.act(meetings.mark_invitations_sent, meeting.id, actor=boss)
    story.fire("invitations_done", boss)
    assert story.case.state == "sip_meeting"

    story.act(meetings.hold_meeting, meeting.id, actor=boss, minutes="Gemensam helhetsbild.")
    due = local_date(clock.now()) + timedelta(days=30)
    story.act(
        plans.save_plan,
        actor=boss,
        goals=["Trygg skoldag."],
        actions=[plans.ActionInput("Samtal varannan vecka", "BUP-psykolog", due)],
    )
    assert story.missing("adopt_plan", boss) == ("Planen anger ingen samordnare.",)
    kurator = unit.eht[0]
    story.act(coordination.appoint_plan_samordnare, kurator.id, actor=boss)
    # 001, p. 10: placed outside the home, social services holds the coordination.
    story.act(coordination.record_placement, actor=boss, placed=True)
    assert story.missing("adopt_plan", boss) == (
        "Barnet är placerat utanför hemmet: samordnaren ska komma från socialtjänsten.",
    )
    with pytest.raises(RuleBroken) as refused:
        coordination.appoint_plan_samordnare(
            story.db, story.reference, kurator.id, actor=boss, expected_version=story.case.version
        )
    assert coordination.PLACEMENT_NEEDS_SOCIALTJANST in refused.value.reasons
    social = next(
        p for p in story.people.koordinatorer if p.organisation == Organisation.SOCIALTJANST
    )
    story.act(coordination.appoint_plan_samordnare, social.id, actor=boss)
    story.fire("adopt_plan", boss)
    assert story.case.state == "interventions"

    lead = story.holder(CaseRole.PLAN_SAMORDNARE)
    assert lead == social.id
    for decision, trigger in (
        (EvaluationDecision.CONTINUE, "make_new_plan"),
        (EvaluationDecision.CLOSE, "close_case"),
    ):
        plan = story.case.current_plan
        action = next(a for a in plan.actions if a.status == ActionStatus.PLANNED)
        story.act(plans.set_action_status, action.id, ActionStatus.STARTED, actor=lead)
        story.fire("start_follow_up", lead)
        # 001, p. 10: follow-up by meeting or telephone; an EHT note is not a SIP follow-up.
        assert "Ingen uppföljning genom möte eller telefon är dokumenterad i detta steg." in (
            story.missing(trigger, lead)
        )
        story.act(
            followups.record_follow_up,
            actor=lead,
            kind=FollowUpKind.PHONE,
            notes="Uppföljningsblanketten ifylld per telefon.",
        )
        story.act(followups.record_evaluation, actor=lead, decision=decision, notes="Delvis nått.")
        story.fire(trigger, lead)
        if trigger == "make_new_plan":
            assert story.case.state == "new_plan"
            story.act(
                plans.save_plan,
                actor=lead,
                goals=["Hela veckan i skolan."],
                actions=[plans.ActionInput("Fritidsaktivitet", "Fritidsledare", due)],
            )
            story.fire("resume_interventions", lead)
    assert [p.version for p in story.case.plans] == [1, 2]
    assert story.visited == [
        "request",
        "invitation",
        "sip_meeting",
        "interventions",
        "follow_up",
        "new_plan",
        "interventions",
        "follow_up",
        "closed",
    ]
