"""Administration: users and their roles, units with rektor and EHT, the koordinator pool.

Only users with the admin system role come in (others get 403, the anonymous the login
page); every service checks that again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length
from wtforms.widgets import CheckboxInput, ListWidget

from vastbas.enums import Organisation, Profession, SystemRole, UnitKind
from vastbas.errors import NotAllowed
from vastbas.labels import choices, label
from vastbas.services import accounts
from vastbas.services import admin as admin_service
from web.auth import current_user, login_required, user_id
from web.database import get_db
from web.forms import optional_id, required_id, submit
from web.records import PICK, SwedishMeta, options

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
def _admins_only() -> None:
    """Logged-in users without the admin role stop here; the anonymous go to the login."""
    user = current_user()
    if user is not None and not user.has_role(SystemRole.ADMIN):
        raise NotAllowed(
            "Administrationen är bara för administratörer. Be en administratör om hjälp."
        )


def checkboxes(label: str, **kwargs: Any) -> SelectMultipleField:
    return SelectMultipleField(
        label, widget=ListWidget(prefix_label=False), option_widget=CheckboxInput(), **kwargs
    )


class AdminForm(FlaskForm):
    Meta = SwedishMeta


class UserForm(AdminForm):
    name = StringField("Namn", validators=[Length(max=120)])
    email = StringField("E-post", validators=[Length(max=254)])
    phone = StringField("Telefon", validators=[Length(max=40)])
    organisation = SelectField(
        "Organisation", choices=PICK + options(choices(Organisation)), validate_choice=False
    )
    profession = SelectField(
        "Yrke", choices=PICK + options(choices(Profession)), validate_choice=False
    )
    unit_id = SelectField("Enhet", coerce=optional_id, validate_choice=False)
    roles = checkboxes("Systemroller", choices=options(choices(SystemRole)), validate_choice=False)

    def details(self) -> admin_service.UserDetails:
        return admin_service.UserDetails(
            name=self.name.data or "",
            email=self.email.data or "",
            phone=self.phone.data,
            organisation=self.organisation.data or "",
            profession=self.profession.data or "",
            unit_id=self.unit_id.data,
            roles=self.roles.data or [],
        )


class NewUserForm(UserForm):
    username = StringField(
        "Användarnamn",
        validators=[Length(max=64)],
        description="Små bokstäver a–z, siffror, punkt, bindestreck eller understreck.",
    )


class PasswordForm(AdminForm):
    password = PasswordField(
        "Nytt lösenord",
        validators=[Length(max=256)],
        render_kw={"autocomplete": "new-password"},
        description=f"Minst {accounts.MIN_PASSWORD_LENGTH} tecken.",
    )
    confirm = PasswordField(
        "Samma lösenord igen",
        validators=[EqualTo("password", "Lösenorden är inte lika.")],
        render_kw={"autocomplete": "new-password"},
    )


class ActiveForm(AdminForm):
    active = HiddenField()


class UnitForm(AdminForm):
    name = StringField("Namn", validators=[Length(max=120)])
    kind = SelectField(
        "Sorts enhet", choices=PICK + options(choices(UnitKind)), validate_choice=False
    )


class UnitStaffForm(AdminForm):
    rektor_id = SelectField("Rektor", coerce=optional_id, validate_choice=False)
    eht_ids = checkboxes("Elevhälsoteamet (EHT)", coerce=required_id, validate_choice=False)


class PoolAddForm(AdminForm):
    person_id = SelectField(
        "Person",
        coerce=optional_id,
        validate_choice=False,
        validators=[DataRequired("Välj vem som ska in i poolen.")],
    )


def _on(value: str | None) -> bool:
    return value == "1"


def _unit_choices() -> list[SelectChoice]:
    units = admin_service.units(get_db(), actor=user_id())
    return options([("", "Ingen enhet"), *((u.id, u.name) for u in units)])


def _posted_to(endpoint: str) -> Any:
    """The posted form data, for the one form on a page that was sent; None for the others."""
    return request.form if request.method == "POST" and request.endpoint == endpoint else None


def _user_forms(row: admin_service.UserRow) -> dict[str, Any]:
    """The forms of a user's page: details and roles, and a new password."""
    current = {
        "name": row.name,
        "email": row.email,
        "phone": row.phone,
        "organisation": row.organisation.value,
        "profession": row.profession.value,
        "unit_id": row.unit_id,
        "roles": [r.value for r in row.roles],
    }
    details = UserForm(formdata=_posted_to("admin.user"), data=current)
    details.unit_id.choices = _unit_choices()
    return {
        "details_form": details,
        "password_form": PasswordForm(formdata=_posted_to("admin.user_password")),
    }


@bp.route("/")
@login_required
def index() -> Any:
    return render_template("admin/index.html")


@bp.route("/users", methods=["GET", "POST"])
@login_required
def users() -> Any:
    db = get_db()
    form = NewUserForm()
    form.unit_id.choices = _unit_choices()
    context = {"users": admin_service.users(db, actor=user_id()), "new_form": form}
    if request.method == "GET":
        return render_template("admin/users.html", **context)
    return submit(
        form,
        lambda: admin_service.create_user(
            db, form.username.data or "", form.details(), actor=user_id()
        ),
        template="admin/users.html",
        success_url=url_for("admin.users"),
        success_message="Användaren är skapad. Sätt ett lösenord så att hen kan logga in.",
        **context,
    )


@bp.route("/users/<int:person_id>", methods=["GET", "POST"])
@login_required
def user(person_id: int) -> Any:
    db = get_db()
    row = admin_service.user(db, person_id, actor=user_id())
    forms = _user_forms(row)
    if request.method == "GET":
        return render_template("admin/user.html", user=row, **forms)
    form = forms["details_form"]
    return submit(
        form,
        lambda: admin_service.update_user(db, person_id, form.details(), actor=user_id()),
        template="admin/user.html",
        success_url=url_for("admin.user", person_id=person_id),
        success_message="Användarens uppgifter är sparade.",
        user=row,
        **forms,
    )


@bp.route("/users/<int:person_id>/password", methods=["POST"])
@login_required
def user_password(person_id: int) -> Any:
    db = get_db()
    row = admin_service.user(db, person_id, actor=user_id())
    forms = _user_forms(row)
    form = forms["password_form"]
    return submit(
        form,
        lambda: accounts.set_password(db, person_id, form.password.data or "", actor=user_id()),
        template="admin/user.html",
        success_url=url_for("admin.user", person_id=person_id),
        success_message="Det nya lösenordet är sparat.",
        user=row,
        **forms,
    )


@bp.route("/users/<int:person_id>/active", methods=["POST"])
@login_required
def user_active(person_id: int) -> Any:
    db = get_db()
    row = admin_service.user(db, person_id, actor=user_id())
    forms = _user_forms(row)
    form = ActiveForm()
    active = _on(form.active.data)
    return submit(
        form,
        lambda: admin_service.set_user_active(db, person_id, active, actor=user_id()),
        template="admin/user.html",
        success_url=url_for("admin.user", person_id=person_id),
        success_message="Kontot är aktiverat." if active else "Kontot är inaktiverat.",
        user=row,
        **forms,
    )


@bp.route("/units", methods=["GET", "POST"])
@login_required
def units() -> Any:
    db = get_db()
    form = UnitForm()
    context = {"units": admin_service.units(db, actor=user_id()), "new_form": form}
    if request.method == "GET":
        return render_template("admin/units.html", **context)
    return submit(
        form,
        lambda: admin_service.create_unit(
            db, form.name.data or "", form.kind.data or "", actor=user_id()
        ),
        template="admin/units.html",
        success_url=url_for("admin.units"),
        success_message="Enheten är skapad. Välj rektor och elevhälsoteam.",
        **context,
    )


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@login_required
def unit(unit_id: int) -> Any:
    db = get_db()
    row = admin_service.unit(db, unit_id, actor=user_id())
    staff = admin_service.unit_staff_choices(db, unit_id, actor=user_id())
    prefill = {"rektor_id": row.rektor_id, "eht_ids": [pid for pid, _ in row.eht]}
    form = UnitStaffForm(data=prefill if request.method == "GET" else None)
    form.rektor_id.choices = options([("", "Ingen rektor"), *((p.id, p.name) for p in staff)])
    form.eht_ids.choices = options((p.id, f"{p.name} ({label(p.profession)})") for p in staff)
    context = {"unit": row, "staff": staff}
    if request.method == "GET":
        return render_template("admin/unit.html", form=form, **context)
    return submit(
        form,
        lambda: admin_service.set_unit_staff(
            db,
            unit_id,
            actor=user_id(),
            rektor_id=form.rektor_id.data,
            eht_ids=form.eht_ids.data or [],
        ),
        template="admin/unit.html",
        success_url=url_for("admin.units"),
        success_message="Enhetens rektor och elevhälsoteam är sparade.",
        **context,
    )


def _pool_context() -> dict[str, Any]:
    db = get_db()
    return {"pool": admin_service.pool(db, actor=user_id())}


def _pool_add_form() -> PoolAddForm:
    form = PoolAddForm(formdata=_posted_to("admin.pool"))
    candidates = admin_service.pool_candidates(get_db(), actor=user_id())
    form.person_id.choices = options(
        [("", "Välj …"), *((p.id, f"{p.name} ({p.username})") for p in candidates)]
    )
    return form


@bp.route("/pool", methods=["GET", "POST"])
@login_required
def pool() -> Any:
    form = _pool_add_form()
    context = _pool_context()
    if request.method == "GET":
        return render_template("admin/pool.html", add_form=form, **context)
    return submit(
        form,
        lambda: admin_service.add_to_pool(get_db(), form.person_id.data, actor=user_id()),
        template="admin/pool.html",
        success_url=url_for("admin.pool"),
        success_message="Personen är tillagd i koordinatorpoolen.",
        add_form=form,
        **context,
    )


@bp.route("/pool/<int:person_id>/remove", methods=["POST"])
@login_required
def pool_remove(person_id: int) -> Any:
    form = ActiveForm()
    return submit(
        form,
        lambda: admin_service.remove_from_pool(get_db(), person_id, actor=user_id()),
        template="admin/pool.html",
        success_url=url_for("admin.pool"),
        success_message="Personen är borttagen ur koordinatorpoolen.",
        add_form=_pool_add_form(),
        **_pool_context(),
    )


@bp.route("/pool/<int:person_id>/active", methods=["POST"])
@login_required
def pool_active(person_id: int) -> Any:
    form = ActiveForm()
    active = _on(form.active.data)
    return submit(
        form,
        lambda: admin_service.set_pool_active(get_db(), person_id, active, actor=user_id()),
        template="admin/pool.html",
        success_url=url_for("admin.pool"),
        success_message="Platsen i poolen är aktiv." if active else "Platsen i poolen är vilande.",
        add_form=_pool_add_form(),
        **_pool_context(),
    )
