"""What hostile input is made of, and what no answer to it may be.

The payloads and hypothesis strategies that fill in a form (tests/form_crawl.py) the way
an attacker would, and `problems`, the checks every answer to a form must pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
import wtforms
from form_crawl import CURRENT, Field, Spec, World, read, valid_fill
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from vastbas.models import LONG_TEXT_MAX, Base, Case
from web.forms import ID_MAX
from web.i18n import SV

MARKUP = ('<script>alert("vb")</script>', "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>')
PAYLOADS = (
    *MARKUP,
    "Åsa Öberg-Ärlig",
    "\u202eRTL\u202c \u200f",
    "a\x00b",
    "\r\n\t\x0b\x0c\x1b\x7f",
    "0000-00-00",
    "9999-12-31",
    "2026-02-30",
    "0000-00-00T00:00",
    "9999-12-31T23:59",
    "-1",
    str(ID_MAX + 1),
    str(2**63),
    "1" * 30,
    "1e309",
    "NaN",
    "{{ 7*7 }}",
    "' OR 1=1 --",
    " ",
    "",
)
DATES = ("0000-00-00", "9999-12-31", "2026-02-30", "1900-01-01", "2026-03-16", "16/3/2026")
LONG = (121, 201, 2_001, LONG_TEXT_MAX + 1, 100_001)
TEXT_KINDS = ("text", "textarea", "password")
BEYOND = (ID_MAX + 1, 2**63, 10**30)
EXAMPLES = 10
# Few examples a route (the suite must stay fast), no example database (files only in tmp).
GENERATED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
# Words every refusal we write uses at least one of, beside å, ä and ö.
SWEDISH = re.compile(
    r"\b(är|inte|och|för|ange|välj|finns|skriv|tecken|högst|ladda|om|kan|måste|får|ett|"
    r"en|giltig\w*|saknas|fel\w*|ingen|behörighet|ärende\w*|lösenord\w*|datum|tid|sidan)\b",
    re.IGNORECASE,
)


def english_messages() -> list[str]:
    """The fixed part of every message of WTForms (from its .pot), and werkzeug's titles."""
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    ids = re.findall(r'^msgid(?:_plural)? "(.+)"$', pot.read_text(), re.MULTILINE)
    fixed = {re.split(r"%\(|'%|%s", text)[0].strip() for text in ids}
    werkzeug = {"Bad Request", "Not Found", "Method Not Allowed", "Internal Server Error"}
    return sorted({text for text in fixed if len(text) > 8} | werkzeug)


ENGLISH = english_messages()
ERROR_TITLES = {text for key, text in SV.items() if re.fullmatch(r"error\.\d{3}", key)}


def swedish(message: str) -> bool:
    return bool(re.search("[åäöÅÄÖ]", message) or SWEDISH.search(message))


def problems(answer: TestResponse, url: str) -> list[str]:
    """What a user must never see in the answer to a form."""
    status = answer.status_code
    if status >= 500:
        return [f"status {status}"]
    if answer.mimetype != "text/html":
        return []
    page = read(answer, url)
    html = answer.get_data(as_text=True)
    found = [f"live markup {m!r}" for m in MARKUP if m in html]
    visible = " ".join(page.text)
    found += [f"English message {m!r}" for m in ENGLISH if m in visible]
    if 400 <= status < 500:
        messages = [m.strip() for m in page.errors if m.strip()]
        if page.title.split(" – ")[0] in ERROR_TITLES:
            messages.append(visible)
        if not messages:
            found.append(f"status {status} without a message")
        found += [f"not Swedish: {m[:80]!r}" for m in messages if not swedish(m)]
    return found


def snapshot(db: Session) -> tuple[int, ...]:
    """Rows per table and the sum of case versions: what any stored change moves."""
    db.expire_all()
    counts = [
        sa.select(sa.func.count()).select_from(table).scalar_subquery()
        for table in Base.metadata.sorted_tables
    ]
    versions = sa.select(sa.func.coalesce(sa.func.sum(Case.version), 0)).scalar_subquery()
    row = db.execute(sa.select(*counts, versions)).one()
    db.commit()
    return tuple(row)


# --- generated input -------------------------------------------------------------------


def mostly(usual: st.SearchStrategy[Any], odd: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`usual` three times in four, else `odd`: attacks that still reach the services."""
    return st.integers(0, 3).flatmap(lambda n: odd if n == 0 else usual)


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(PAYLOADS),
        st.text(st.characters(codec="utf-8"), max_size=40),
        st.text("åäöÅÄÖ <>&\"'\u200f\u202e", max_size=20),
        st.builds(lambda c, n: c * n, st.sampled_from("aå<"), st.sampled_from(LONG)),
    )


def field_values(name: str, spec_field: Field) -> st.SearchStrategy[str]:
    if name == "version":
        return st.one_of(st.just(CURRENT), hostile_text())
    if spec_field.kind in ("select", "radio", "multi"):
        # A choice as offered, an id of someone (or something) else, or anything at all.
        offered = st.sampled_from(spec_field.options or [""])
        return st.one_of(offered, st.integers(-1, 150).map(str), hostile_text())
    if spec_field.kind in ("date", "datetime-local"):
        return st.one_of(st.sampled_from(DATES), hostile_text())
    return st.one_of(st.just(spec_field.value), hostile_text())


def form_data(spec: Spec) -> st.SearchStrategy[dict[str, list[str]]]:
    """The form as a careful user fills it in, with up to four fields missing, hostile or
    sent more than once: so that attacks reach the services, not only the form."""
    names = [name for name in spec.fields if name != "csrf_token"]

    def edit(chosen: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
        changes = {
            name: st.one_of(
                st.none(), st.lists(field_values(name, spec.fields[name]), min_size=1, max_size=3)
            )
            for name in chosen
        }
        return st.fixed_dictionaries(changes).map(
            lambda changed: {
                name: values
                for name, values in (valid_fill(spec) | changed).items()
                if values is not None
            }
        )

    return (
        st.lists(st.sampled_from(names), max_size=4, unique=True).flatmap(edit)
        if names
        else st.just({})
    )


def urls(world: World, spec: Spec) -> st.SearchStrategy[str]:
    """Mostly the form's own address; one in four with another case or an odd id in it.

    Only a case's address is moved: an admin may change any account, and the ids of other
    accounts would deactivate the very people the attack logs in as.
    """
    if spec.reference is None:
        return st.just(spec.action)
    numbers = re.findall(r"/(\d+)(?=/|$)", urlsplit(spec.action).path)
    references = [*world.references, "VB-0000-0000", "VB-2026-0001;--"]
    ids = [i for case in world.ids.values() for known in case.values() for i in known]
    path = urlsplit(spec.action).path

    def elsewhere(reference: str, number: int) -> str:
        moved = path.replace(f"/{spec.reference}/", f"/{reference}/")
        return re.sub(r"/\d+(?=/|$)", f"/{number}", moved, count=1) if numbers else moved

    other = st.builds(elsewhere, st.sampled_from(references), st.sampled_from([*ids, 0, ID_MAX]))
    return mostly(st.just(spec.action), other)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(), hostile_text(), st.just(CURRENT)
    )
    return st.recursive(scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=5)


def replace_current(value: Any, version: int | None) -> Any:
    if value == CURRENT:
        return version
    if isinstance(value, list):
        return [replace_current(v, version) for v in value]
    if isinstance(value, dict):
        return {k: replace_current(v, version) for k, v in value.items()}
    return value
