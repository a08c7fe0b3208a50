"""Statistik in the browser: tables with SVG charts, CSV downloads, filters, who may see it.

Runs on the fixed data set of tests/statistics_data.py (built once per backend), with
the clock frozen on 15 October 2026 at noon. Named *_page so that its module name does
not clash with tests/services/test_statistics.py.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from freezegun import freeze_time
from statistics_data import BACKENDS, NOON_TODAY, World, world

from vastbas.charts import bar_chart, stacked_columns
from web import create_app
from web.statistics import Table, as_csv

LoginAs = Callable[..., None]
SVG = "{http://www.w3.org/2000/svg}"
SECTION = re.compile(
    r'<section class="card" aria-labelledby="tabell-([a-z]+)">(.*?)</section>', re.S
)
SLUGS = [
    "steg",
    "forfragningar",
    "bedomningar",
    "ledtider",
    "forseningar",
    "koordinatorer",
    "utfall",
]


@pytest.fixture(scope="module", params=BACKENDS)
def data(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    yield from world(request, tmp_path_factory)


@pytest.fixture(scope="module")
def app(data: World) -> Flask:
    """The web app on the data set (overrides conftest's app on a fresh database)."""
    return create_app({"TESTING": True, "ENGINE": data.engine, "SECRET_KEY": "test-secret"})


@pytest.fixture(autouse=True)
def today() -> Iterator[None]:
    with freeze_time(NOON_TODAY):
        yield


def sections(html: str) -> dict[str, str]:
    return dict(SECTION.findall(html))


def body_rows(section: str) -> list[list[str]]:
    """The cells of a section's table body, as text."""
    tbody = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)
        ]
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    ]


def chart(section: str) -> ET.Element:
    match = re.search(r"<svg.*?</svg>", section, re.S)
    assert match, section
    return ET.fromstring(match.group(0))  # well-formed XML, or this raises


def download(client: FlaskClient, url: str) -> list[list[str]]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    raw = answer.get_data()
    assert raw.startswith("\ufeff".encode())  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))


def test_the_samordnare_sees_every_table_with_its_chart_one_bar_per_row(
    client: FlaskClient, login_as: LoginAs, data: World
) -> None:
    login_as("samordnare")
    answer = client.get("/statistik")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert 'href="/statistik"' in html  # the menu has the link
    found = sections(html)
    assert list(found) == SLUGS
    for slug, section in found.items():
        svg = chart(section)
        assert svg.get("role") == "img" and svg.get("aria-label")
        assert svg.find(f"{SVG}title") is not None
        bars = svg.findall(f"{SVG}g[@class='bar']")
        assert len(bars) == len(body_rows(section)), slug
    # All processes: each process's own steps, named by the process.
    steps = dict(row[:2] for row in body_rows(found["steg"]))
    assert steps["Västbas: 1. Förfrågan"] == "1" and steps["Västbas: 2. Bedömning"] == "0"
    leads = {row[0]: row[1:] for row in body_rows(found["ledtider"])}
    assert leads["Västbas: Förfrågan till nätverksmöte 2"] == ["4", "31,5", "35"]
    assert '<option value="">Alla processer</option>' in html
    # No inline style (the CSP forbids it), no script, no child data.
    assert "style=" not in html and "<script" not in html
    for secret in (*data.child_names, *data.personnummer):
        assert secret not in html


def test_each_table_downloads_as_csv_with_the_same_figures(
    client: FlaskClient, login_as: LoginAs, data: World
) -> None:
    login_as("samordnare")
    html = client.get("/statistik?fran=2026-01-01&till=2026-10-15&process=vastbas").get_data(
        as_text=True
    )
    links = dict(re.findall(r'href="(/statistik/([a-z]+)\.csv[^"]*)"', html))
    files = {slug: download(client, url.replace("&amp;", "&")) for url, slug in links.items()}
    assert sorted(files) == sorted(SLUGS)

    assert files["steg"][0] == ["Steg", "Ärenden"]
    assert ["4. Förmöte", "1"] in files["steg"]
    header, *months = files["forfragningar"]
    assert header[0] == "Månad" and header[-1] == "Totalt" and "Förälder" in header
    assert [(row[0], row[-1]) for row in months] == [
        ("2026-01", "2"), ("2026-02", "2"), ("2026-03", "2"), ("2026-04", "3"), ("2026-05", "3"),
        ("2026-06", "0"), ("2026-07", "0"), ("2026-08", "0"), ("2026-09", "0"), ("2026-10", "0"),
    ]  # fmt: skip
    april = dict(zip(header, months[3], strict=True))
    assert (april["Skola"], april["Förälder"]) == ("2", "1")
    assert files["bedomningar"][1:] == [
        ["Västbasärende – koordinatorerna tar över", "9", "81,8"],
        ["Inte ett Västbasärende", "2", "18,2"],
    ]
    assert files["ledtider"][1:] == [
        ["Förfrågan till nätverksmöte 2", "4", "31,5", "35"],
        ["Handlingsplan till utvärdering", "2", "150,5", "154"],
    ]
    assert ["7. Insatser", "4", "1"] in files["forseningar"]
    assert files["koordinatorer"][0] == [
        "Koordinator",
        "Som koordinator 1",
        "Som koordinator 2",
        "Totalt",
    ]
    assert [row[1:] for row in files["koordinatorer"][1:3]] == [["1", "3", "4"], ["3", "0", "3"]]
    assert ["Avslutat efter utvärdering", "2"] in files["utfall"]
    everything = repr(files)
    for secret in (*data.child_names, *data.personnummer):
        assert secret not in everything


def test_period_and_unit_filter_the_page_and_its_csv_links(
    client: FlaskClient, login_as: LoginAs, data: World
) -> None:
    """Unit U1 from 7 April to 1 July: cases 8, 10 and 12 came in and were accepted."""
    login_as("samordnare")
    unit = data.units[1]
    html = client.get(
        f"/statistik?fran=2026-04-07&till=2026-07-01&enhet={unit}&process=vastbas"
    ).get_data(as_text=True)
    assert f'<option value="{unit}" selected>{data.unit_names[1]}</option>' in html
    link = re.search(r'href="(/statistik/bedomningar\.csv[^"]*)"', html)
    assert link
    url = link.group(1).replace("&amp;", "&")
    assert parse_qs(urlsplit(url).query) == {
        "fran": ["2026-04-07"], "till": ["2026-07-01"], "enhet": [str(unit)],
        "process": ["vastbas"],
    }  # fmt: skip
    assert download(client, url)[1:] == [
        ["Västbasärende – koordinatorerna tar över", "3", "100"],
        ["Inte ett Västbasärende", "0", "0"],
    ]
    requests = download(client, url.replace("bedomningar", "forfragningar"))
    assert [(row[0], row[-1]) for row in requests[1:]] == [
        ("2026-04", "1"), ("2026-05", "2"), ("2026-06", "0"), ("2026-07", "0"),
    ]  # fmt: skip


def test_a_date_that_is_not_a_date_or_a_period_backwards_is_explained(
    client: FlaskClient, login_as: LoginAs
) -> None:
    login_as("samordnare")
    answer = client.get("/statistik?fran=31/3&till=")
    assert answer.status_code == 400
    assert "ÅÅÅÅ-MM-DD" in answer.get_data(as_text=True)
    assert client.get("/statistik?fran=2026-05-01&till=2026-04-01").status_code == 400
    assert "Processen finns inte" in client.get("/statistik?process=okand").get_data(as_text=True)
    # A unit id too big for any database column is no unit: everything is shown.
    assert client.get("/statistik?enhet=99999999999999999999").status_code == 200


@pytest.mark.parametrize(
    ("username", "status"),
    [("samordnare", 200), ("admin", 200), ("koordinator2", 403), ("rektor1", 403)],
)
def test_only_the_samordnare_and_admin_see_the_statistics(
    username: str, status: int, client: FlaskClient, login_as: LoginAs
) -> None:
    login_as(username)
    assert client.get("/statistik").status_code == status
    assert client.get("/statistik/utfall.csv").status_code == status
    menu = client.get("/").get_data(as_text=True)
    assert ('href="/statistik"' in menu) == (status == 200)


def test_the_anonymous_are_sent_to_the_login(client: FlaskClient) -> None:
    for url in ("/statistik", "/statistik/steg.csv"):
        answer = client.get(url)
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")


def test_a_chart_stays_well_formed_whatever_a_label_says() -> None:
    label = 'A & B <script>"x"</script>'
    svg = ET.fromstring(bar_chart(label, [(label, 3), ("Tom", 0)]))
    assert svg.get("aria-label") == label
    assert [bar.findtext(f"{SVG}title") for bar in svg.findall(f"{SVG}g")] == [
        f"{label}: 3",
        "Tom: 0",
    ]
    columns = ET.fromstring(
        stacked_columns("Per månad", ["2026-01"], [("Skola", [2]), ("BUP", [0])])
    )
    assert len(columns.findall(f"{SVG}g[@class='bar']")) == 1


def test_a_csv_cell_that_excel_would_run_as_a_formula_is_quoted() -> None:
    table = Table(
        "koordinatorer", "T", "", ("Koordinator", "Totalt"), (("=HYPERLINK(1)", "-1,5"),), ""
    )
    rows = list(csv.reader(io.StringIO(as_csv(table).decode("utf-8-sig")), delimiter=";"))
    assert rows == [["Koordinator", "Totalt"], ["'=HYPERLINK(1)", "-1,5"]]
