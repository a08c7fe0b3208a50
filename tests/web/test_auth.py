"""Logging in and out, CSRF, throttling and the security headers, as a browser meets them."""

from __future__ import annotations

from collections.abc import Callable

from builders import municipality
from conftest import csrf_token
from flask.testing import FlaskClient
from sqlalchemy.orm import Session


def test_the_start_page_asks_an_anonymous_visitor_to_log_in(client: FlaskClient) -> None:
    answer = client.get("/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/login")


def test_a_demo_user_logs_in_and_out(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    municipality(db)
    login_as("samordnare")
    page = client.get("/")
    assert page.status_code == 200
    assert "Mina ärenden" in page.get_data(as_text=True)
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_a_wrong_password_gets_one_swedish_message_and_no_session(
    db: Session, client: FlaskClient
) -> None:
    municipality(db)
    token = csrf_token(client)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "samordnare", "password": "fel"}
    )
    assert answer.status_code == 400
    assert "Fel användarnamn eller lösenord." in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_guessing_is_throttled_with_a_clear_message(db: Session, client: FlaskClient) -> None:
    municipality(db)
    token = csrf_token(client)
    for _ in range(5):
        client.post("/login", data={"csrf_token": token, "username": "rektor1", "password": "x"})
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "rektor1", "password": "demo"}
    )
    assert answer.status_code == 400
    assert "För många misslyckade inloggningar" in answer.get_data(as_text=True)


def test_a_form_without_csrf_token_is_refused(db: Session, client: FlaskClient) -> None:
    municipality(db)
    answer = client.post("/login", data={"username": "samordnare", "password": "demo"})
    assert answer.status_code == 400
    assert "Felaktig begäran" in answer.get_data(as_text=True)


def test_every_answer_carries_the_security_headers(client: FlaskClient) -> None:
    answer = client.get("/login")
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"


def test_the_session_cookie_is_httponly_and_samesite(
    db: Session, client: FlaskClient, login_as: Callable[..., None]
) -> None:
    municipality(db)
    token = csrf_token(client)
    answer = client.post(
        "/login", data={"csrf_token": token, "username": "samordnare", "password": "demo"}
    )
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_an_unknown_page_is_a_swedish_404(client: FlaskClient) -> None:
    answer = client.get("/finns-inte")
    assert answer.status_code == 404
    assert "Sidan finns inte" in answer.get_data(as_text=True)
