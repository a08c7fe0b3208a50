"""Eligibility rules for the roles around a child: koordinator, kontaktperson, språkrör.

Every rule is a pure function: it gets the facts as arguments and returns the
reasons, in Swedish, why an appointment is refused. An empty list means the
appointment is allowed. Each reason says what is wrong and what to do, because
it is shown as it is in the UI.

Sources: 004 (Västbas, Stenungsunds kommun), s. 3 (koordinatorernas roller) and
s. 4 (kontaktpersonens och språkrörets roller).
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from vastbas.enums import Organisation, Profession


@dataclass(frozen=True)
class Candidate:
    """A person who might be appointed to a role in a case, as the rules see them."""

    person_id: int
    name: str
    organisation: Organisation
    unit_id: int | None
    profession: Profession
    in_pool: bool  # in the koordinator pool
    pool_active: bool  # pool membership active
    open_cases: int  # current open caseload as koordinator
    active: bool = True  # user account active


@dataclass(frozen=True)
class CaseContext:
    """The facts about one case that the eligibility rules need."""

    unit_id: int | None  # the child's unit (school/förskola)
    handlaggare_id: int | None  # the case's handläggare (social services)
    network_person_ids: frozenset[int]  # persons in the child's network / daily life
    unit_eht_ids: frozenset[int]  # EHT members of the child's unit
    unit_rektor_id: int | None


@dataclass(frozen=True)
class Excluded:
    """A candidate left out of the koordinator suggestions, with the reasons why."""

    candidate: Candidate
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class KoordinatorSuggestions:
    """What the samordnare sees when choosing koordinatorer for a case."""

    eligible: tuple[Candidate, ...]  # fewest open cases first, then name
    excluded: tuple[Excluded, ...]  # by name
    pairs: tuple[tuple[Candidate, Candidate], ...]  # (K1, K2), best first


# --- koordinator -------------------------------------------------------------


def koordinator_refusals(candidate: Candidate, case: CaseContext) -> list[str]:
    """Say why a person may not be koordinator in a case; empty if they may."""
    reasons: list[str] = []
    # 004, s. 3: koordinatorerna utses ur de ca 30 som har utsetts och utbildats (poolen).
    if not candidate.in_pool:
        reasons.append(
            "Personen ingår inte i koordinatorpoolen. "
            "Välj en utbildad koordinator ur poolen, eller be administratören lägga till personen."
        )
    elif not candidate.pool_active:
        reasons.append(
            "Personens plats i koordinatorpoolen är vilande. "
            "Välj en annan koordinator, eller be administratören aktivera personen i poolen."
        )
    if not candidate.active:
        reasons.append(
            "Personens användarkonto är inaktiverat. "
            "Välj en annan person, eller be administratören aktivera kontot."
        )
    # 004, s. 3: "så fria som möjligt i förhållande till uppdraget, d v s inte själv vara
    # handläggare eller på annat sätt arbeta nära i vardagen".
    if case.handlaggare_id is not None and candidate.person_id == case.handlaggare_id:
        reasons.append(
            "Personen är handläggare i ärendet och är därför inte fri i förhållande till "
            "uppdraget. Välj en koordinator som inte handlägger ärendet."
        )
    if works_at_childs_unit(candidate, case):
        reasons.append(
            "Personen arbetar på barnets enhet. "
            "Välj en koordinator som inte arbetar nära barnet i vardagen."
        )
    if candidate.person_id in case.network_person_ids:
        reasons.append(
            "Personen finns i barnets nätverk (vardag). "
            "Välj en koordinator som inte finns i barnets vardag."
        )
    return reasons


def works_at_childs_unit(candidate: Candidate, case: CaseContext) -> bool:
    """Tell whether the candidate works at the child's school or förskola.

    Besides staff placed at the unit, the unit's rektor and its EHT members count:
    they may be placed elsewhere (a shared psykolog, a rektor for several units) and
    still work close to the child (004, s. 3).
    """
    if case.unit_id is not None and candidate.unit_id == case.unit_id:
        return True
    return candidate.person_id in case.unit_eht_ids or candidate.person_id == case.unit_rektor_id


def koordinator_pair_refusals(k1: Candidate, k2: Candidate, case: CaseContext) -> list[str]:
    """Say why two people may not be koordinator 1 and 2 in a case; empty if they may."""
    reasons: list[str] = []
    # 004, s. 3: "Två koordinatorer utses ... för varje uppdrag" (two people, K2 in team with K1).
    if k1.person_id == k2.person_id:
        reasons.append("Koordinator 1 och 2 måste vara två olika personer.")
    reasons += [f"Koordinator 1: {reason}" for reason in koordinator_refusals(k1, case)]
    reasons += [f"Koordinator 2: {reason}" for reason in koordinator_refusals(k2, case)]
    return reasons


def suggest_koordinatorer(
    candidates: Iterable[Candidate], case: CaseContext, limit: int = 5
) -> KoordinatorSuggestions:
    """Sort candidates into eligible and excluded, and rank the best koordinator pairs.

    A person listed twice is considered once (the first listing counts).
    """
    eligible: list[Candidate] = []
    excluded: list[Excluded] = []
    seen: set[int] = set()
    for candidate in candidates:
        if candidate.person_id in seen:
            continue
        seen.add(candidate.person_id)
        reasons = koordinator_refusals(candidate, case)
        if reasons:
            excluded.append(Excluded(candidate, tuple(reasons)))
        else:
            eligible.append(candidate)
    eligible.sort(key=_by_caseload_then_name)
    excluded.sort(key=lambda e: (_name_key(e.candidate.name), e.candidate.person_id))
    return KoordinatorSuggestions(
        eligible=tuple(eligible),
        excluded=tuple(excluded),
        pairs=_best_pairs(eligible, limit),
    )


def _best_pairs(eligible: list[Candidate], limit: int) -> tuple[tuple[Candidate, Candidate], ...]:
    """Rank pairs: lowest combined caseload, then two organisations, then person ids.

    Within a pair, K1 is the one with fewer open cases (then name): K1 leads the
    meetings and needs the time. `eligible` must be in `_by_caseload_then_name` order.
    """
    if limit <= 0:
        return ()
    shortlist = _pair_shortlist(eligible, limit)
    pairs = sorted(combinations(shortlist, 2), key=_pair_rank)
    return tuple(pairs[:limit])


def _pair_shortlist(eligible: list[Candidate], limit: int) -> list[Candidate]:
    """Keep only the candidates that can appear in the best `limit` pairs.

    Exact, not a heuristic: with each organisation's candidates ordered by
    (open cases, person id), a person ranked below the first limit + 1 of their
    organisation can be swapped for any of those before them, each swap giving a
    strictly better pair of the same organisation mix, so at least `limit` better
    pairs exist. This bounds the work by organisations x (limit + 1) people,
    whatever the size of the pool.
    """
    by_organisation: dict[Organisation, list[Candidate]] = {}
    for candidate in eligible:
        by_organisation.setdefault(candidate.organisation, []).append(candidate)
    kept: set[int] = set()
    for members in by_organisation.values():
        members.sort(key=lambda c: (c.open_cases, c.person_id))
        kept.update(c.person_id for c in members[: limit + 1])
    return [c for c in eligible if c.person_id in kept]


def _pair_rank(pair: tuple[Candidate, Candidate]) -> tuple[int, bool, int, int]:
    k1, k2 = pair
    # DESIGN, roles: prefer a pair from two organisations (e.g. skola and socialtjänst).
    same_organisation = k1.organisation == k2.organisation
    low, high = sorted((k1.person_id, k2.person_id))
    return (k1.open_cases + k2.open_cases, same_organisation, low, high)


def _by_caseload_then_name(candidate: Candidate) -> tuple[int, str, int]:
    return (candidate.open_cases, _name_key(candidate.name), candidate.person_id)


# Swedish order puts å, ä, ö after z, in that order (code points put ä before å and all
# three after every ASCII letter); other accents sort as their base letter (é as e).
_SWEDISH_LAST_LETTERS = str.maketrans({"å": "{", "ä": "|", "ö": "}"})


def _name_key(name: str) -> str:
    folded = unicodedata.normalize("NFC", name).casefold().translate(_SWEDISH_LAST_LETTERS)
    return "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))


# --- kontaktperson -----------------------------------------------------------


def kontaktperson_refusals(candidate: Candidate, case: CaseContext) -> list[str]:
    """Say why a person may not be kontaktperson in a case; empty if they may."""
    reasons: list[str] = []
    if not candidate.active:
        reasons.append(
            "Personens användarkonto är inaktiverat. "
            "Välj en annan person, eller be administratören aktivera kontot."
        )
    # 004, s. 4: "Kontaktpersonen ska vara en person, från elevhälsoteamet, som utses av rektor."
    if case.unit_id is None:
        reasons.append(
            "Barnet har ingen registrerad skola eller förskola, och då finns inget "
            "elevhälsoteam att välja kontaktperson från. Registrera barnets enhet först."
        )
    elif candidate.person_id not in case.unit_eht_ids:
        reasons.append(
            "Personen ingår inte i elevhälsoteamet på barnets enhet. "
            "Välj kontaktperson bland elevhälsoteamets medlemmar."
        )
    # 004, s. 4: rektorer eller socialsekreterare ska inte ha kontaktpersonsuppdrag, "då dessa
    # har ansvar för att ta beslut i sin myndighetsutövning".
    if candidate.profession is Profession.REKTOR or candidate.person_id == case.unit_rektor_id:
        reasons.append(
            "En rektor kan inte vara kontaktperson eftersom rektorn fattar beslut i sin "
            "myndighetsutövning. Välj en annan person ur elevhälsoteamet."
        )
    if candidate.profession is Profession.SOCIALSEKRETERARE:
        reasons.append(
            "En socialsekreterare kan inte vara kontaktperson eftersom socialsekreteraren "
            "fattar beslut i sin myndighetsutövning. Välj en person ur elevhälsoteamet."
        )
    return reasons


def kontaktperson_appointer_refusals(
    appointer_id: int, *, appointer_is_samordnare: bool, case: CaseContext
) -> list[str]:
    """Say why a user may not appoint the kontaktperson in a case; empty if they may."""
    # 004, s. 4: kontaktpersonen "utses av rektor". DESIGN: the samordnare may do it on the
    # rektor's behalf, which also covers a unit that has no rektor registered.
    if appointer_is_samordnare:
        return []
    if case.unit_rektor_id is None:
        return [
            "Barnets enhet har ingen registrerad rektor. "
            "Be samordnaren utse kontaktpersonen, eller be administratören registrera rektorn."
        ]
    if appointer_id != case.unit_rektor_id:
        return [
            "Det är rektorn på barnets enhet som utser kontaktperson. "
            "Be rektorn, eller samordnaren på rektorns vägnar, att utse kontaktpersonen."
        ]
    return []


def appointed_on_behalf_of_rektor(
    appointer_id: int, *, appointer_is_samordnare: bool, case: CaseContext
) -> bool:
    """Tell whether a kontaktperson appointment is to be recorded as on the rektor's behalf.

    True when the samordnare appoints and is not the unit's rektor, also when the unit
    has no rektor: the samordnare then acts in the rektor's place (004, s. 4).
    """
    return appointer_is_samordnare and appointer_id != case.unit_rektor_id


# --- språkrör ----------------------------------------------------------------


def sprakror_refusals(
    *, name: str, trust_confirmed_by_guardian: bool, person_id: int | None, case: CaseContext
) -> list[str]:
    """Say why a person may not be the child's språkrör; empty if they may.

    The språkrör may be a user (`person_id`) or an outside contact without login
    (`person_id` None). 004 sets no rule on who beyond closeness and the guardian's
    trust, so `person_id` and `case` do not refuse anyone today; they are part of the
    signature so that the service can pass the same facts to every rule.
    """
    reasons: list[str] = []
    if not name.strip():
        reasons.append("Språkröret saknar namn. Skriv namnet på personen som ska vara språkrör.")
    # 004, s. 4: "en person som står nära barnet/den unge, och som vårdnadshavaren har
    # förtroende för".
    if not trust_confirmed_by_guardian:
        reasons.append(
            "Vårdnadshavarens förtroende för språkröret är inte bekräftat. "
            "Fråga vårdnadshavaren och markera förtroendet som bekräftat."
        )
    return reasons
