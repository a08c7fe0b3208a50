"""Who calls the API: a personal API token in `Authorization: Bearer …`, never a cookie."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from vastbas.errors import NotAllowed
from vastbas.models import TokenKind
from vastbas.services import tokens
from web.api.errors import ApiError
from web.database import get_db

F = TypeVar("F", bound=Callable[..., Any])


def token_required(view: F) -> F:
    """Refuse with 401 unless the request carries an active API token of an active user."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        scheme, _, secret = request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise ApiError(401)
        try:
            g.api_user_id = tokens.authenticate(get_db(), secret.strip(), TokenKind.API)
        except NotAllowed as exc:
            raise ApiError(401, exc.message, invalid_token=True) from None
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def api_user_id() -> int:
    """The caller's person id inside a token_required view."""
    user_id: int = g.api_user_id
    return user_id
