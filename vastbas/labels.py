"""Swedish labels of the stored enum values, one table per enum, ready for translation."""

from __future__ import annotations

from enum import StrEnum

from vastbas.enums import (
    ActionStatus,
    CaseRole,
    DeviationStatus,
    EvaluationDecision,
    FollowUpKind,
    InitiatorKind,
    MeetingKind,
    Organisation,
    ParticipantKind,
    Profession,
    SystemRole,
    UnitKind,
)

SV: dict[type[StrEnum], dict[str, str]] = {
    Organisation: {
        "forskola": "Förskola", "skola": "Skola", "socialtjanst": "Socialtjänst",
        "central_elevhalsa": "Centrala Barn- och Elevhälsan", "extern": "Extern",
    },
    Profession: {
        "rektor": "Rektor", "socialsekreterare": "Socialsekreterare", "kurator": "Kurator",
        "skolskoterska": "Skolsköterska", "psykolog": "Psykolog",
        "specialpedagog": "Specialpedagog", "larare": "Lärare",
        "forskollarare": "Förskollärare", "fritidsledare": "Fritidsledare",
        "samordnare": "Samordnare", "annan": "Annan",
    },
    UnitKind: {
        "forskola": "Förskola", "skola": "Skola", "socialtjanst": "Socialtjänst",
        "central": "Central",
    },
    SystemRole: {"samordnare": "Samordnare", "admin": "Administratör"},
    CaseRole: {
        "koordinator_1": "Koordinator 1", "koordinator_2": "Koordinator 2",
        "kontaktperson": "Kontaktperson", "sprakror": "Språkrör",
        "sammankallande": "Sammankallande", "plan_samordnare": "Samordnare enligt planen",
    },
    InitiatorKind: {
        "foralder": "Förälder", "forskola": "Förskola", "skola": "Skola", "fritid": "Fritid",
        "socialtjanst": "Socialtjänst", "habilitering": "Habilitering", "bup": "BUP",
        "polis": "Polis", "annan": "Annan",
    },
    MeetingKind: {
        "pre_meeting": "Förmöte", "network_meeting_1": "Nätverksmöte 1",
        "network_meeting_2": "Nätverksmöte 2", "follow_up": "Uppföljningsmöte",
        "extra": "Extra nätverksmöte", "sip_meeting": "SIP-möte",
    },
    ParticipantKind: {
        "vardnadshavare": "Vårdnadshavare", "familj": "Familj", "anhoriga": "Anhöriga",
        "tolk": "Tolk", "skola": "Skola", "forskola": "Förskola", "sjukvard": "Sjukvård",
        "polis": "Polis", "socialtjanst": "Socialtjänst", "elevhalsa": "Elevhälsa",
        "kultur_och_fritid": "Kultur och fritid", "forsakringskassa": "Försäkringskassa",
        "annan": "Annan",
    },
    ActionStatus: {
        "planned": "Planerad", "started": "Påbörjad", "done": "Klar", "cancelled": "Avbruten",
    },
    FollowUpKind: {
        "eht": "Lyft i elevhälsoteamet", "meeting": "Uppföljningsmöte", "phone": "Telefon",
        "extra_network_meeting": "Extra nätverksmöte",
    },
    EvaluationDecision: {"close": "Avsluta ärendet", "continue": "Fortsatta insatser"},
    DeviationStatus: {"ny": "Ny", "utreds": "Utreds", "atgardad": "Åtgärdad"},
}  # fmt: skip


def label(value: StrEnum | None) -> str:
    """The Swedish label of an enum value ('' for None)."""
    if value is None:
        return ""
    return SV.get(type(value), {}).get(value.value, value.value)


def choices(enum_class: type[StrEnum]) -> list[tuple[str, str]]:
    """(value, label) pairs for a select field, in the enum's order."""
    return [(member.value, label(member)) for member in enum_class]
