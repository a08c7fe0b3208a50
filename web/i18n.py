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
    "nav.statistics": "Statistik",
    "nav.deviations": "Avvikelser",
    "nav.tokens": "Mina nycklar",
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
    "error.503": "Tjänsten är tillfälligt otillgänglig",
    "error.back": "Till startsidan",
    "error.400.text": "Formuläret kunde inte tas emot. Ladda om sidan och försök igen.",
    "error.403.text": "Du har inte behörighet att göra detta.",
    "error.404.text": "Sidan eller ärendet finns inte, eller så har du inte tillgång till det.",
    "error.409.text": "Ladda om sidan och gör ändringen igen.",
    "error.500.text": "Ett oväntat fel inträffade. Försök igen om en stund.",
    "error.503.text": "Databasen går inte att nå. Försök igen om en stund.",
    "form.stale": "Formuläret kunde inte tas emot. Ladda om sidan och försök igen.",
}
CATALOGS = {"sv": SV}


def t(key: str, **values: object) -> str:
    """The text for `key` in the interface language (Swedish), with {values} filled in."""
    text = SV.get(key, key)
    return text.format(**values) if values else text


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(t=t, label=label)


# WTForms' own messages (its English msgids), for a field whose form gives none of its own;
# web/forms.py SwedishMeta hands them to every form. WTForms' Swedish catalogue has typos.
FORM_MESSAGES_SV = {
    "Invalid field name '%s'.": "Okänt fältnamn '%s'.",
    "Field must be equal to %(other_name)s.": "Fältet måste vara lika med %(other_name)s.",
    "Field must be at least %(min)d character long.": "Skriv minst %(min)d tecken.",
    "Field must be at least %(min)d characters long.": "Skriv minst %(min)d tecken.",
    "Field cannot be longer than %(max)d character.": "Högst %(max)d tecken.",
    "Field cannot be longer than %(max)d characters.": "Högst %(max)d tecken.",
    "Field must be exactly %(max)d character long.": "Skriv exakt %(max)d tecken.",
    "Field must be exactly %(max)d characters long.": "Skriv exakt %(max)d tecken.",
    "Field must be between %(min)d and %(max)d characters long.": (
        "Skriv mellan %(min)d och %(max)d tecken."
    ),
    "Number must be at least %(min)s.": "Talet får inte vara mindre än %(min)s.",
    "Number must be at most %(max)s.": "Talet får inte vara större än %(max)s.",
    "Number must be between %(min)s and %(max)s.": "Talet ska vara mellan %(min)s och %(max)s.",
    "Date must be at least %(min)s.": "Datumet får inte vara före %(min)s.",
    "Date must be at most %(max)s.": "Datumet får inte vara efter %(max)s.",
    "Date must be between %(min)s and %(max)s.": "Datumet ska vara mellan %(min)s och %(max)s.",
    "This field is required.": "Fältet måste fyllas i.",
    "Invalid input.": "Ogiltigt värde.",
    "Invalid email address.": "Ogiltig e-postadress.",
    "Invalid IP address.": "Ogiltig IP-adress.",
    "Invalid Mac address.": "Ogiltig MAC-adress.",
    "Invalid URL.": "Ogiltig webbadress.",
    "Invalid UUID.": "Ogiltigt UUID.",
    "Invalid value, must be one of: %(values)s.": "Ogiltigt värde, välj något av: %(values)s.",
    "Invalid value, can't be any of: %(values)s.": "Ogiltigt värde, får inte vara: %(values)s.",
    "This field cannot be edited.": "Fältet kan inte ändras.",
    "This field is disabled and cannot have a value.": "Fältet är avstängt och får inget värde.",
    "Invalid CSRF Token.": "Formuläret är för gammalt. Ladda om sidan och försök igen.",
    "CSRF token missing.": "Formuläret är för gammalt. Ladda om sidan och försök igen.",
    "CSRF failed.": "Formuläret är för gammalt. Ladda om sidan och försök igen.",
    "CSRF token expired.": "Formuläret är för gammalt. Ladda om sidan och försök igen.",
    "Invalid Choice: could not coerce.": "Välj ett av alternativen i listan.",
    "Choices cannot be None.": "Det finns inga alternativ att välja.",
    "Not a valid choice.": "Välj ett av alternativen i listan.",
    "Invalid choice(s): one or more data inputs could not be coerced.": (
        "Välj bland alternativen i listan."
    ),
    "'%(value)s' is not a valid choice for this field.": "Välj bland alternativen i listan.",
    "'%(value)s' are not valid choices for this field.": "Välj bland alternativen i listan.",
    "Not a valid datetime value.": "Skriv datum och tid som 2026-03-16 14:00.",
    "Not a valid date value.": "Inte ett giltigt datum. Skriv det som 2026-03-16.",
    "Not a valid time value.": "Skriv tiden som 14:00.",
    "Not a valid week value.": "Skriv veckan som 2026-W12.",
    "Not a valid integer value.": "Skriv ett heltal.",
    "Not a valid decimal value.": "Skriv ett tal.",
    "Not a valid float value.": "Skriv ett tal.",
}


class FormTranslations:
    """The gettext interface WTForms asks its messages from, answered in Swedish."""

    def gettext(self, string: str) -> str:
        return FORM_MESSAGES_SV.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)
