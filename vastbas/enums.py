"""Enumerations shared by the models, rules and services.

Values are stable identifiers stored in the database; Swedish labels live in
`vastbas.labels` so the UI can be translated.
"""

from enum import StrEnum


class Organisation(StrEnum):
    FORSKOLA = "forskola"
    SKOLA = "skola"
    SOCIALTJANST = "socialtjanst"
    CENTRAL_ELEVHALSA = "central_elevhalsa"
    EXTERN = "extern"


class Profession(StrEnum):
    REKTOR = "rektor"
    SOCIALSEKRETERARE = "socialsekreterare"
    KURATOR = "kurator"
    SKOLSKOTERSKA = "skolskoterska"
    PSYKOLOG = "psykolog"
    SPECIALPEDAGOG = "specialpedagog"
    LARARE = "larare"
    FORSKOLLARARE = "forskollarare"
    FRITIDSLEDARE = "fritidsledare"
    SAMORDNARE = "samordnare"
    ANNAN = "annan"


class UnitKind(StrEnum):
    FORSKOLA = "forskola"
    SKOLA = "skola"
    SOCIALTJANST = "socialtjanst"
    CENTRAL = "central"


class SystemRole(StrEnum):
    SAMORDNARE = "samordnare"
    ADMIN = "admin"


class CaseRole(StrEnum):
    KOORDINATOR_1 = "koordinator_1"
    KOORDINATOR_2 = "koordinator_2"
    KONTAKTPERSON = "kontaktperson"
    SPRAKROR = "sprakror"
    # SIP (001, pp. 8 and 10): who calls the meeting, and the samordnare the plan names.
    SAMMANKALLANDE = "sammankallande"
    PLAN_SAMORDNARE = "plan_samordnare"


class InitiatorKind(StrEnum):
    FORALDER = "foralder"
    FORSKOLA = "forskola"
    SKOLA = "skola"
    FRITID = "fritid"
    SOCIALTJANST = "socialtjanst"
    HABILITERING = "habilitering"
    BUP = "bup"
    POLIS = "polis"
    ANNAN = "annan"


class MeetingKind(StrEnum):
    PRE_MEETING = "pre_meeting"
    NETWORK_MEETING_1 = "network_meeting_1"
    NETWORK_MEETING_2 = "network_meeting_2"
    FOLLOW_UP = "follow_up"
    EXTRA = "extra"
    SIP_MEETING = "sip_meeting"


class ParticipantKind(StrEnum):
    """Who a network participant is; the list follows 001 (BUS Gotland, p. 9)."""

    VARDNADSHAVARE = "vardnadshavare"
    FAMILJ = "familj"
    ANHORIGA = "anhoriga"
    TOLK = "tolk"
    SKOLA = "skola"
    FORSKOLA = "forskola"
    SJUKVARD = "sjukvard"
    POLIS = "polis"
    SOCIALTJANST = "socialtjanst"
    ELEVHALSA = "elevhalsa"
    KULTUR_OCH_FRITID = "kultur_och_fritid"
    FORSAKRINGSKASSA = "forsakringskassa"
    ANNAN = "annan"


class ActionStatus(StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    DONE = "done"
    CANCELLED = "cancelled"


class FollowUpKind(StrEnum):
    EHT = "eht"
    MEETING = "meeting"
    PHONE = "phone"
    EXTRA_NETWORK_MEETING = "extra_network_meeting"


class EvaluationDecision(StrEnum):
    CLOSE = "close"
    CONTINUE = "continue"


class DeviationStatus(StrEnum):
    NY = "ny"
    UTREDS = "utreds"
    ATGARDAD = "atgardad"
