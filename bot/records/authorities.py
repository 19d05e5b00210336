"""Finding a local authority by what an inspector types: slug, alias or name prefix."""

from __future__ import annotations

import difflib
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.errors import UserError
from db.models import Authority

# Names people type that are neither a slug nor a prefix of one.
ALIASES = {
    "rct": "rhondda-cynon-taf",
    "npt": "neath-port-talbot",
    "vale": "vale-of-glamorgan",
    "vog": "vale-of-glamorgan",
    "ynys-mon": "anglesey",
    "ynysmon": "anglesey",
    "mon": "anglesey",
    "wrecsam": "wrexham",
    "caerdydd": "cardiff",
    "abertawe": "swansea",
    "casnewydd": "newport",
    "merthyr": "merthyr-tydfil",
    "blaenau": "blaenau-gwent",
    "pen-y-bont": "bridgend",
    "caerffili": "caerphilly",
    "sir-gar": "carmarthenshire",
    "fflint": "flintshire",
    "sir-fynwy": "monmouthshire",
    "penfro": "pembrokeshire",
    "bro-morgannwg": "vale-of-glamorgan",
    "neath": "neath-port-talbot",
    "port-talbot": "neath-port-talbot",
}


def fold(text: str) -> str:
    """Lower case, accents dropped, spaces and punctuation as single hyphens."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(c if c.isalnum() else " " for c in plain).split())


# The council-type words that open the Welsh names; longest first, so one is taken off.
_WELSH_PREFIXES = (
    "cyngor-bwrdeistref-sirol-",
    "cyngor-dinas-a-sir-",
    "cyngor-dinas-",
    "cyngor-sir-",
    "cyngor-",
)


def _keys(authority: Authority) -> list[str]:
    """The names a typed prefix is matched against: slug, English name, Welsh place name.

    The full Welsh name is left out on purpose: every one starts `cyngor-`, so `c` would
    otherwise match all 22 authorities.
    """
    names = [authority.slug, fold(authority.english_name)]
    welsh = fold(authority.welsh_name)
    for prefix in _WELSH_PREFIXES:
        if welsh.startswith(prefix):
            names.append(welsh[len(prefix) :])
            break
    return names


def all_authorities(session: Session) -> list[Authority]:
    """The authorities, alphabetically by slug."""
    return list(session.scalars(select(Authority).order_by(Authority.slug)))


def resolve(session: Session, typed: str) -> Authority:
    """The one authority `typed` names; UserError with the nearest names otherwise."""
    key = fold(typed)
    authorities = all_authorities(session)
    if not key:
        raise UserError("missing_authority")
    by_slug = {a.slug: a for a in authorities}
    if key in by_slug:
        return by_slug[key]
    if key in ALIASES:
        return by_slug[ALIASES[key]]
    exact = [a for a in authorities if key in {fold(a.english_name), fold(a.welsh_name)}]
    if exact:
        return exact[0]
    matches = [a for a in authorities if any(name.startswith(key) for name in _keys(a))]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UserError("ambiguous_authority", typed=typed, candidates=[a.slug for a in matches])
    raise UserError("unknown_authority", typed=typed, suggestions=suggest(authorities, key))


def suggest(authorities: list[Authority], key: str, limit: int = 3) -> list[str]:
    """Slugs of the authorities whose names are closest to `key`."""
    names: dict[str, str] = {}
    for authority in authorities:
        for name in _keys(authority):
            names[name] = authority.slug
    for alias, slug in ALIASES.items():
        names[alias] = slug
    found: list[str] = []
    for name in difflib.get_close_matches(key, list(names), n=10, cutoff=0.4):
        if names[name] not in found:
            found.append(names[name])
    if not found:
        found = [a.slug for a in authorities if a.slug[:1] == key[:1]]
    return found[:limit]
