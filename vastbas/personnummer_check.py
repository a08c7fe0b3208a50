"""Swedish personnummer: validation (checksum) and masked display."""

from __future__ import annotations

from personnummer import personnummer as pnr

from vastbas.errors import InvalidInput


def normalise_personnummer(value: str) -> str:
    """The personnummer as YYYYMMDD-NNNN, or InvalidInput if it is not a valid one."""
    text = (value or "").strip()
    try:
        if not text or not pnr.valid(text):
            raise ValueError
        long = pnr.parse(text).format(True)
    except (ValueError, pnr.PersonnummerException):
        raise InvalidInput(
            "Personnumret är inte giltigt. Kontrollera siffrorna (ÅÅÅÅMMDD-NNNN).",
            {"child_personnummer": "Ogiltigt personnummer (kontrollsiffran stämmer inte)."},
        ) from None
    return f"{long[:8]}-{long[8:]}"


def mask_personnummer(value: str) -> str:
    """Show only the birth date: 20120304-****."""
    return f"{value[:8]}-****" if len(value) >= 8 else "****"
