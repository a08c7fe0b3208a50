"""Tests of the eligibility rules for koordinator, kontaktperson and språkrör."""

import random
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vastbas.enums import Organisation, Profession
from vastbas.rules import (
    Candidate,
    CaseContext,
    appointed_on_behalf_of_rektor,
    kontaktperson_appointer_refusals,
    kontaktperson_refusals,
    koordinator_pair_refusals,
    koordinator_refusals,
    sprakror_refusals,
    suggest_koordinatorer,
)

CHILDS_UNIT = 10
OTHER_UNIT = 20
HANDLAGGARE = 90
NETWORK_MEMBER = 91
EHT_KURATOR = 80
EHT_PSYKOLOG_ELSEWHERE = 81
REKTOR = 70
SAMORDNARE = 60

NOT_IN_POOL = (
    "Personen ingår inte i koordinatorpoolen. "
    "Välj en utbildad koordinator ur poolen, eller be administratören lägga till personen."
)
POOL_INACTIVE = (
    "Personens plats i koordinatorpoolen är vilande. "
    "Välj en annan koordinator, eller be administratören aktivera personen i poolen."
)
ACCOUNT_INACTIVE = (
    "Personens användarkonto är inaktiverat. "
    "Välj en annan person, eller be administratören aktivera kontot."
)
IS_HANDLAGGARE = (
    "Personen är handläggare i ärendet och är därför inte fri i förhållande till "
    "uppdraget. Välj en koordinator som inte handlägger ärendet."
)
AT_CHILDS_UNIT = (
    "Personen arbetar på barnets enhet. "
    "Välj en koordinator som inte arbetar nära barnet i vardagen."
)
IN_NETWORK = (
    "Personen finns i barnets nätverk (vardag). "
    "Välj en koordinator som inte finns i barnets vardag."
)
SAME_PERSON = "Koordinator 1 och 2 måste vara två olika personer."
NOT_EHT = (
    "Personen ingår inte i elevhälsoteamet på barnets enhet. "
    "Välj kontaktperson bland elevhälsoteamets medlemmar."
)
NO_UNIT = (
    "Barnet har ingen registrerad skola eller förskola, och då finns inget "
    "elevhälsoteam att välja kontaktperson från. Registrera barnets enhet först."
)
IS_REKTOR = (
    "En rektor kan inte vara kontaktperson eftersom rektorn fattar beslut i sin "
    "myndighetsutövning. Välj en annan person ur elevhälsoteamet."
)
IS_SOCIALSEKRETERARE = (
    "En socialsekreterare kan inte vara kontaktperson eftersom socialsekreteraren "
    "fattar beslut i sin myndighetsutövning. Välj en person ur elevhälsoteamet."
)
NOT_THE_REKTOR = (
    "Det är rektorn på barnets enhet som utser kontaktperson. "
    "Be rektorn, eller samordnaren på rektorns vägnar, att utse kontaktpersonen."
)
NO_REKTOR = (
    "Barnets enhet har ingen registrerad rektor. "
    "Be samordnaren utse kontaktpersonen, eller be administratören registrera rektorn."
)
NO_NAME = "Språkröret saknar namn. Skriv namnet på personen som ska vara språkrör."
TRUST_UNCONFIRMED = (
    "Vårdnadshavarens förtroende för språkröret är inte bekräftat. "
    "Fråga vårdnadshavaren och markera förtroendet som bekräftat."
)


def person(person_id: int = 1, name: str = "Anna", **changes) -> Candidate:
    """A koordinator in the pool, free of the case, unless told otherwise."""
    defaults = dict(
        organisation=Organisation.SOCIALTJANST,
        unit_id=OTHER_UNIT,
        profession=Profession.KURATOR,
        in_pool=True,
        pool_active=True,
        open_cases=0,
    )
    return Candidate(person_id=person_id, name=name, **(defaults | changes))


def a_case(**changes) -> CaseContext:
    """A case at the child's school, with a handläggare, a network, an EHT and a rektor."""
    defaults = dict(
        unit_id=CHILDS_UNIT,
        handlaggare_id=HANDLAGGARE,
        network_person_ids=frozenset({NETWORK_MEMBER}),
        unit_eht_ids=frozenset({EHT_KURATOR, EHT_PSYKOLOG_ELSEWHERE, REKTOR}),
        unit_rektor_id=REKTOR,
    )
    return CaseContext(**(defaults | changes))


def ids(candidates) -> list[int]:
    return [c.person_id for c in candidates]


def pair_ids(pairs) -> list[tuple[int, int]]:
    return [(k1.person_id, k2.person_id) for k1, k2 in pairs]


# --- koordinator -------------------------------------------------------------


def test_a_pool_member_free_of_the_case_may_be_koordinator():
    assert koordinator_refusals(person(), a_case()) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (dict(in_pool=False), NOT_IN_POOL),
        (dict(in_pool=False, pool_active=False), NOT_IN_POOL),
        (dict(pool_active=False), POOL_INACTIVE),
        (dict(active=False), ACCOUNT_INACTIVE),
        (dict(person_id=HANDLAGGARE), IS_HANDLAGGARE),
        (dict(unit_id=CHILDS_UNIT), AT_CHILDS_UNIT),
        (dict(person_id=EHT_PSYKOLOG_ELSEWHERE), AT_CHILDS_UNIT),
        (dict(person_id=REKTOR, profession=Profession.REKTOR), AT_CHILDS_UNIT),
        (dict(person_id=NETWORK_MEMBER), IN_NETWORK),
    ],
    ids=[
        "not in pool",
        "not in pool, no double reason",
        "pool membership resting",
        "account inactive",
        "handläggare",
        "placed at the child's unit",
        "EHT member of the unit placed elsewhere",
        "rektor of the unit placed elsewhere",
        "in the child's network",
    ],
)
def test_a_koordinator_is_refused_with_the_reason_the_user_reads(changes, reason):
    assert koordinator_refusals(person(**changes), a_case()) == [reason]


def test_a_koordinator_refusal_gives_every_reason_in_order():
    candidate = person(person_id=HANDLAGGARE, in_pool=False, active=False, unit_id=CHILDS_UNIT)
    case = a_case(network_person_ids=frozenset({HANDLAGGARE}))
    assert koordinator_refusals(candidate, case) == [
        NOT_IN_POOL,
        ACCOUNT_INACTIVE,
        IS_HANDLAGGARE,
        AT_CHILDS_UNIT,
        IN_NETWORK,
    ]


def test_no_unit_on_either_side_is_not_the_same_unit():
    case = a_case(unit_id=None, handlaggare_id=None, unit_rektor_id=None)
    assert koordinator_refusals(person(unit_id=None), case) == []


def test_two_free_people_may_be_koordinator_pair():
    assert koordinator_pair_refusals(person(1), person(2, "Bo"), a_case()) == []


def test_the_same_person_cannot_be_both_koordinatorer():
    anna = person(1)
    assert koordinator_pair_refusals(anna, anna, a_case()) == [SAME_PERSON]


def test_pair_refusals_say_which_koordinator_they_concern():
    k1 = person(1, in_pool=False)
    k2 = person(HANDLAGGARE, "Bo")
    assert koordinator_pair_refusals(k1, k2, a_case()) == [
        f"Koordinator 1: {NOT_IN_POOL}",
        f"Koordinator 2: {IS_HANDLAGGARE}",
    ]


# --- koordinator suggestions -------------------------------------------------


def test_suggestions_list_eligible_by_fewest_open_cases_then_swedish_name_order():
    candidates = [
        person(1, "Örjan", open_cases=1),
        person(2, "Åsa", open_cases=1),
        person(3, "Ärla", open_cases=1),
        person(4, "Zara", open_cases=1),
        person(5, "Erik", open_cases=3),
        person(6, "Viktor", open_cases=0),
    ]
    suggestions = suggest_koordinatorer(candidates, a_case())
    assert [c.name for c in suggestions.eligible] == [
        "Viktor",
        "Zara",
        "Åsa",
        "Ärla",
        "Örjan",
        "Erik",
    ]


def test_suggestions_show_who_was_excluded_and_why_sorted_by_name():
    candidates = [
        person(HANDLAGGARE, "Cecilia"),
        person(1, "Bertil"),
        person(2, "Adam", in_pool=False),
    ]
    suggestions = suggest_koordinatorer(candidates, a_case())
    assert ids(suggestions.eligible) == [1]
    assert [(e.candidate.name, e.reasons) for e in suggestions.excluded] == [
        ("Adam", (NOT_IN_POOL,)),
        ("Cecilia", (IS_HANDLAGGARE,)),
    ]
    assert suggestions.pairs == ()


def test_pairs_with_the_lowest_combined_caseload_come_first():
    candidates = [
        person(1, "Anna", open_cases=4),
        person(2, "Bo", open_cases=0),
        person(3, "Cilla", open_cases=1),
        person(4, "David", open_cases=2),
    ]
    pairs = suggest_koordinatorer(candidates, a_case()).pairs
    loads = [k1.open_cases + k2.open_cases for k1, k2 in pairs]
    assert loads == sorted(loads)
    assert pair_ids(pairs)[:3] == [(2, 3), (2, 4), (3, 4)]


def test_among_equal_caseload_a_pair_from_two_organisations_comes_first():
    candidates = [
        person(1, "Anna", organisation=Organisation.SKOLA, open_cases=1),
        person(2, "Bo", organisation=Organisation.SKOLA, open_cases=1),
        person(3, "Cilla", organisation=Organisation.SOCIALTJANST, open_cases=1),
    ]
    pairs = suggest_koordinatorer(candidates, a_case()).pairs
    assert pair_ids(pairs) == [(1, 3), (2, 3), (1, 2)]


def test_a_lower_caseload_beats_the_two_organisation_preference():
    candidates = [
        person(1, "Anna", organisation=Organisation.SKOLA, open_cases=0),
        person(2, "Bo", organisation=Organisation.SKOLA, open_cases=0),
        person(3, "Cilla", organisation=Organisation.SOCIALTJANST, open_cases=1),
    ]
    pairs = suggest_koordinatorer(candidates, a_case()).pairs
    assert pair_ids(pairs)[0] == (1, 2)


def test_koordinator_1_is_the_one_with_fewer_open_cases():
    candidates = [person(1, "Anna", open_cases=3), person(2, "Bo", open_cases=1)]
    pairs = suggest_koordinatorer(candidates, a_case()).pairs
    assert pair_ids(pairs) == [(2, 1)]


def test_suggestions_do_not_depend_on_the_order_of_the_candidates():
    candidates = [
        person(i, name, organisation=org, open_cases=load)
        for i, (name, org, load) in enumerate(
            [
                ("Anna", Organisation.SKOLA, 1),
                ("Anna", Organisation.SKOLA, 1),
                ("Bo", Organisation.SOCIALTJANST, 1),
                ("Bo", Organisation.FORSKOLA, 0),
                ("Cilla", Organisation.SOCIALTJANST, 2),
                ("David", Organisation.SKOLA, 0),
            ],
            start=1,
        )
    ]
    expected = suggest_koordinatorer(candidates, a_case(), limit=10)
    shuffler = random.Random(4)
    for _ in range(20):
        shuffled = candidates[:]
        shuffler.shuffle(shuffled)
        assert suggest_koordinatorer(shuffled, a_case(), limit=10) == expected


def test_equal_names_and_loads_are_ordered_by_person_id():
    candidates = [person(7, "Anna"), person(3, "Anna"), person(5, "Anna")]
    suggestions = suggest_koordinatorer(candidates, a_case())
    assert ids(suggestions.eligible) == [3, 5, 7]
    assert pair_ids(suggestions.pairs) == [(3, 5), (3, 7), (5, 7)]


def test_at_most_limit_pairs_are_suggested():
    candidates = [person(i, f"Person {i}") for i in range(1, 8)]
    assert len(suggest_koordinatorer(candidates, a_case()).pairs) == 5
    assert len(suggest_koordinatorer(candidates, a_case(), limit=2).pairs) == 2
    assert suggest_koordinatorer(candidates, a_case(), limit=0).pairs == ()


def test_no_pairs_without_two_eligible_people():
    assert suggest_koordinatorer([], a_case()).pairs == ()
    assert suggest_koordinatorer([person(1)], a_case()).pairs == ()


def test_a_person_listed_twice_is_suggested_once_and_never_paired_with_themselves():
    anna = person(1, "Anna")
    suggestions = suggest_koordinatorer([anna, anna, person(2, "Bo")], a_case())
    assert ids(suggestions.eligible) == [1, 2]
    assert pair_ids(suggestions.pairs) == [(1, 2)]


def test_a_large_pool_still_finds_the_best_two_organisation_pair():
    # 30 free skola koordinatorer listed first, the only socialtjänst one last:
    # a shortlist of "the first 20 by caseload" would miss the best pairs.
    skola = [person(i, f"Skola {i:02}", organisation=Organisation.SKOLA) for i in range(1, 31)]
    social = person(200, "Zelda", organisation=Organisation.SOCIALTJANST)
    pairs = suggest_koordinatorer([*skola, social], a_case(), limit=3).pairs
    assert pair_ids(pairs) == [(1, 200), (2, 200), (3, 200)]


def best_pairs_by_brute_force(candidates, case, limit):
    """Every pair of eligible people, ranked as the design says, for comparison."""
    eligible = suggest_koordinatorer(candidates, case, limit=0).eligible
    ranked = sorted(
        combinations(eligible, 2),
        key=lambda p: (
            p[0].open_cases + p[1].open_cases,
            p[0].organisation == p[1].organisation,
            sorted((p[0].person_id, p[1].person_id)),
        ),
    )
    return ranked[:limit]


def test_two_hundred_candidates_give_the_same_pairs_as_trying_every_pair():
    shuffler = random.Random(200)
    organisations = list(Organisation)
    candidates = [
        person(
            i,
            f"Person {i:03}",
            organisation=shuffler.choice(organisations),
            open_cases=shuffler.randint(0, 6),
            unit_id=shuffler.choice([CHILDS_UNIT, OTHER_UNIT, 30, 40]),
        )
        for i in range(1, 201)
    ]
    for limit in (1, 5, 12):
        suggested = suggest_koordinatorer(candidates, a_case(), limit=limit).pairs
        assert list(suggested) == best_pairs_by_brute_force(candidates, a_case(), limit)


person_ids = st.integers(min_value=1, max_value=12)
candidates_strategy = st.lists(
    st.builds(
        Candidate,
        person_id=person_ids,
        name=st.sampled_from(["Anna", "Åsa", "Bo", "Örjan", "Ärla"]),
        organisation=st.sampled_from(Organisation),
        unit_id=st.none() | st.integers(min_value=1, max_value=3),
        profession=st.sampled_from(Profession),
        in_pool=st.booleans(),
        pool_active=st.booleans(),
        open_cases=st.integers(min_value=0, max_value=4),
        active=st.booleans(),
    ),
    max_size=25,
)
cases_strategy = st.builds(
    CaseContext,
    unit_id=st.none() | st.integers(min_value=1, max_value=3),
    handlaggare_id=st.none() | person_ids,
    network_person_ids=st.frozensets(person_ids, max_size=4),
    unit_eht_ids=st.frozensets(person_ids, max_size=3),
    unit_rektor_id=st.none() | person_ids,
)


@settings(max_examples=300, deadline=None)
@given(candidates_strategy, cases_strategy, st.integers(min_value=0, max_value=8))
def test_every_suggested_pair_is_two_distinct_eligible_people(candidates, case, limit):
    suggestions = suggest_koordinatorer(candidates, case, limit=limit)
    assert len(suggestions.pairs) <= limit
    for k1, k2 in suggestions.pairs:
        assert k1.person_id != k2.person_id
        assert koordinator_pair_refusals(k1, k2, case) == []
    assert list(suggestions.pairs) == best_pairs_by_brute_force(candidates, case, limit)


@settings(max_examples=200, deadline=None)
@given(candidates_strategy, cases_strategy)
def test_every_candidate_is_either_eligible_or_excluded_with_reasons(candidates, case):
    suggestions = suggest_koordinatorer(candidates, case)
    for candidate in suggestions.eligible:
        assert koordinator_refusals(candidate, case) == []
    for excluded in suggestions.excluded:
        assert list(excluded.reasons) == koordinator_refusals(excluded.candidate, case)
        assert excluded.reasons
    listed = ids(suggestions.eligible) + [e.candidate.person_id for e in suggestions.excluded]
    assert sorted(listed) == sorted({c.person_id for c in candidates})


# --- kontaktperson -----------------------------------------------------------


def test_a_member_of_the_units_eht_may_be_kontaktperson():
    kurator = person(EHT_KURATOR, unit_id=CHILDS_UNIT, in_pool=False)
    assert kontaktperson_refusals(kurator, a_case()) == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        (dict(person_id=1), NOT_EHT),
        (dict(person_id=EHT_KURATOR, active=False), ACCOUNT_INACTIVE),
        (dict(person_id=EHT_KURATOR, profession=Profession.REKTOR), IS_REKTOR),
        (dict(person_id=REKTOR, profession=Profession.SAMORDNARE), IS_REKTOR),
        (
            dict(person_id=EHT_KURATOR, profession=Profession.SOCIALSEKRETERARE),
            IS_SOCIALSEKRETERARE,
        ),
    ],
    ids=[
        "not in the unit's EHT",
        "account inactive",
        "a rektor, even in the EHT",
        "the unit's rektor by id",
        "a socialsekreterare",
    ],
)
def test_a_kontaktperson_is_refused_with_the_reason_the_user_reads(changes, reason):
    assert kontaktperson_refusals(person(**changes), a_case()) == [reason]


def test_a_kontaktperson_needs_the_child_to_have_a_unit():
    case = a_case(unit_id=None, unit_eht_ids=frozenset(), unit_rektor_id=None)
    assert kontaktperson_refusals(person(EHT_KURATOR), case) == [NO_UNIT]


def test_a_kontaktperson_refusal_gives_every_reason():
    socialsekreterare = person(1, active=False, profession=Profession.SOCIALSEKRETERARE)
    assert kontaktperson_refusals(socialsekreterare, a_case()) == [
        ACCOUNT_INACTIVE,
        NOT_EHT,
        IS_SOCIALSEKRETERARE,
    ]


@pytest.mark.parametrize(
    ("appointer_id", "is_samordnare", "case", "reasons"),
    [
        (REKTOR, False, a_case(), []),
        (SAMORDNARE, True, a_case(), []),
        (SAMORDNARE, True, a_case(unit_rektor_id=None), []),
        (EHT_KURATOR, False, a_case(), [NOT_THE_REKTOR]),
        (EHT_KURATOR, False, a_case(unit_rektor_id=None), [NO_REKTOR]),
    ],
    ids=[
        "the unit's rektor",
        "the samordnare",
        "the samordnare, unit without rektor",
        "someone else",
        "someone else, unit without rektor",
    ],
)
def test_only_the_rektor_or_the_samordnare_appoints_the_kontaktperson(
    appointer_id, is_samordnare, case, reasons
):
    refusals = kontaktperson_appointer_refusals(
        appointer_id, appointer_is_samordnare=is_samordnare, case=case
    )
    assert refusals == reasons


@pytest.mark.parametrize(
    ("appointer_id", "is_samordnare", "case", "on_behalf"),
    [
        (REKTOR, False, a_case(), False),
        (SAMORDNARE, True, a_case(), True),
        (SAMORDNARE, True, a_case(unit_rektor_id=None), True),
        (REKTOR, True, a_case(), False),
        (EHT_KURATOR, False, a_case(), False),
    ],
    ids=[
        "the rektor appoints",
        "the samordnare appoints",
        "the samordnare appoints, unit without rektor",
        "a rektor who is also samordnare appoints as rektor",
        "someone else (refused anyway)",
    ],
)
def test_a_samordnare_appointment_is_recorded_as_on_the_rektors_behalf(
    appointer_id, is_samordnare, case, on_behalf
):
    result = appointed_on_behalf_of_rektor(
        appointer_id, appointer_is_samordnare=is_samordnare, case=case
    )
    assert result is on_behalf


# --- språkrör ----------------------------------------------------------------


def test_an_outside_contact_trusted_by_the_guardian_may_be_sprakror():
    refusals = sprakror_refusals(
        name="Moster Lena", trust_confirmed_by_guardian=True, person_id=None, case=a_case()
    )
    assert refusals == []


def test_a_staff_user_trusted_by_the_guardian_may_be_sprakror():
    refusals = sprakror_refusals(
        name="Anna", trust_confirmed_by_guardian=True, person_id=EHT_KURATOR, case=a_case()
    )
    assert refusals == []


@pytest.mark.parametrize("name", ["", "   "])
def test_a_sprakror_needs_a_name(name):
    refusals = sprakror_refusals(
        name=name, trust_confirmed_by_guardian=True, person_id=None, case=a_case()
    )
    assert refusals == [NO_NAME]


def test_a_sprakror_needs_the_guardians_confirmed_trust():
    refusals = sprakror_refusals(
        name="Moster Lena", trust_confirmed_by_guardian=False, person_id=None, case=a_case()
    )
    assert refusals == [TRUST_UNCONFIRMED]


def test_a_sprakror_refusal_gives_every_reason():
    refusals = sprakror_refusals(
        name="", trust_confirmed_by_guardian=False, person_id=None, case=a_case()
    )
    assert refusals == [NO_NAME, TRUST_UNCONFIRMED]
