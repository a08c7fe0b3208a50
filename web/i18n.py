"""UI texts by key, so the Swedish interface can be translated without touching templates."""

from __future__ import annotations

from flask import Flask

from vastbas.labels import label

SV = {
    "app.name": "Västbas",
    "nav.my_cases": "Mina ärenden",
    "nav.cases": "Ärenden",
    "nav.new_request": "Ny förfrågan",
    "nav.admin": "Administration",
    "nav.logout": "Logga ut",
    "nav.skip": "Hoppa till innehållet",
    "login.title": "Logga in",
    "login.username": "Användarnamn",
    "login.password": "Lösenord",
    "login.submit": "Logga in",
    "login.required": "Logga in för att fortsätta.",
    "logout.done": "Du är utloggad.",
    "error.400": "Felaktig begäran",
    "error.403": "Ingen behörighet",
    "error.404": "Sidan finns inte",
    "error.405": "Metoden är inte tillåten",
    "error.405.text": "Sidan kan inte användas på det sättet.",
    "error.409": "Ärendet har ändrats av någon annan",
    "error.413": "För mycket data",
    "error.413.text": "Det du skickade var för stort. Korta texten och försök igen.",
    "error.500": "Något gick fel",
    "error.503": "Tjänsten är inte tillgänglig just nu",
    "error.back": "Till startsidan",
    "error.400.text": "Formuläret kunde inte tas emot. Ladda om sidan och försök igen.",
    "error.403.text": "Du har inte behörighet att göra detta.",
    "error.404.text": "Sidan eller ärendet finns inte, eller så har du inte tillgång till det.",
    "error.409.text": "Ladda om sidan och gör ändringen igen.",
    "error.500.text": "Ett oväntat fel inträffade. Försök igen om en stund.",
    "error.503.text": "Databasen går inte att nå. Försök igen om en stund.",
}
CATALOGS = {"sv": SV}


def t(key: str, **values: object) -> str:
    """The text for `key` in the interface language (Swedish), with {values} filled in."""
    text = SV.get(key, key)
    return text.format(**values) if values else text


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(t=t, label=label)
