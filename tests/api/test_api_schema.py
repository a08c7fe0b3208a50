"""The OpenAPI document is valid OpenAPI 3.1, and the API keeps to it.

Schemathesis (its pytest integration: explicit examples, boundary-value coverage and
fuzzing, valid and invalid requests) calls every operation about the test case with a
samordnare's and a koordinator's token; no answer may be a 500, and every answer must
match its documented status, headers and schema. A made-up or hostile reference is
tested in test_api.py.
"""

from __future__ import annotations

import pytest
import schemathesis
from apiworld import build_world
from flask import Flask
from hypothesis import HealthCheck, settings
from sqlalchemy.orm import Session

EXAMPLES = 15
# A well-formed transition can still be refused by a rule of the process (400 with the
# reasons): the schema cannot say which step a case is in. Everything else is as default.
FIRE_TRANSITION = {
    "include-operation-id": "fireTransition",
    "checks": {
        "positive_data_acceptance": {
            "expected-statuses": ["2xx", "400", "401", "403", "404", "409"]
        }
    },
}


def config(token: str | None = None, reference: str | None = None) -> schemathesis.Config:
    """Schemathesis' settings: the bearer token and the case every request is about.

    The token is not generated (nor broken on purpose), so the invalid requests are
    invalid in their parameters and bodies; the `ignored_auth` check still sends each
    operation without a token and with a wrong one and expects a 401.
    """
    settings: dict[str, object] = {
        "generation": {"with-security-parameters": False},
        "operations": [FIRE_TRANSITION],
    }
    if token is not None:
        settings["auth"] = {"openapi": {"bearer": {"bearer": token}}}
    if reference is not None:
        settings["parameters"] = {"path.reference": reference}
    return schemathesis.Config.from_dict(settings)


def test_the_document_is_valid_openapi_3_1(app: Flask) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config())

    schema.validate()

    assert schema.raw_schema["openapi"] == "3.1.0"
    operations = {result.ok().label for result in schema.get_all_operations()}
    assert operations == {
        "GET /cases", "GET /cases/{reference}", "GET /cases/{reference}/deadlines",
        "POST /cases/{reference}/transitions/{trigger}", "GET /notifications",
    }  # fmt: skip


@pytest.fixture(params=["samordnare", "k1"])
def api_schema(request: pytest.FixtureRequest, db: Session, app: Flask) -> schemathesis.BaseSchema:
    world = build_world(db)
    return schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=config(world.tokens[request.param], world.reference)
    )


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_and_never_with_a_500(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate()
