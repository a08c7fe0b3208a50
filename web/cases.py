"""Case pages: Mina ärenden, the case list, a new request and the case page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from web.auth import login_required

bp = Blueprint("cases", __name__)


@bp.route("/")
@login_required
def my_cases() -> Any:
    return render_template("cases/my_cases.html")


@bp.route("/cases")
@login_required
def case_list() -> Any:
    return render_template("cases/my_cases.html")


@bp.route("/cases/new", methods=["GET", "POST"])
@login_required
def new_request() -> Any:
    return render_template("cases/my_cases.html")
