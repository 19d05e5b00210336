"""Finding an authority by what an inspector types."""

from __future__ import annotations

import pytest

from bot.errors import UserError
from bot.records import authorities
from db.session import session_factory, transaction


@pytest.fixture
def session(engine):
    with transaction(session_factory(engine)) as session:
        yield session


def test_the_22_authorities_are_seeded(session):
    found = authorities.all_authorities(session)
    assert len(found) == 22
    wrexham = next(a for a in found if a.slug == "wrexham")
    assert wrexham.english_name == "Wrexham County Borough Council"
    assert wrexham.welsh_name == "Cyngor Bwrdeistref Sirol Wrecsam"


@pytest.mark.parametrize(
    ("typed", "slug"),
    [
        ("wrexham", "wrexham"),
        ("WREXHAM", "wrexham"),
        ("wrex", "wrexham"),
        ("vale", "vale-of-glamorgan"),
        ("Vale of Glamorgan", "vale-of-glamorgan"),
        ("rct", "rhondda-cynon-taf"),
        ("rhondda", "rhondda-cynon-taf"),
        ("npt", "neath-port-talbot"),
        ("neath", "neath-port-talbot"),
        ("ynys-mon", "anglesey"),
        ("Ynys Môn", "anglesey"),
        ("anglesey", "anglesey"),
        ("isle", "anglesey"),
        ("wrecsam", "wrexham"),
        ("caerdydd", "cardiff"),
        ("abertawe", "swansea"),
        ("casnewydd", "newport"),
        ("bro-morgannwg", "vale-of-glamorgan"),
        ("bro", "vale-of-glamorgan"),
        ("castell-nedd", "neath-port-talbot"),
        ("merthyr", "merthyr-tydfil"),
        ("Cyngor Bwrdeistref Sirol Wrecsam", "wrexham"),
        ("pembs", None),
    ],
)
def test_resolve(session, typed, slug):
    if slug is None:
        with pytest.raises(UserError):
            authorities.resolve(session, typed)
        return
    assert authorities.resolve(session, typed).slug == slug


def test_an_ambiguous_prefix_lists_the_candidates(session):
    with pytest.raises(UserError) as error:
        authorities.resolve(session, "c")
    assert error.value.template == "ambiguous_authority"
    candidates = error.value.data["candidates"]
    assert {"cardiff", "caerphilly", "carmarthenshire", "ceredigion", "conwy"} <= set(candidates)
    assert len(candidates) < 22  # not every "Cyngor …"
    with pytest.raises(UserError) as error:
        authorities.resolve(session, "car")
    assert error.value.data["candidates"] == ["cardiff", "carmarthenshire"]


@pytest.mark.parametrize(
    ("typed", "nearest"),
    [("wrexam", "wrexham"), ("cardyff", "cardiff"), ("swansee", "swansea"), ("powis", "powys")],
)
def test_an_unknown_name_suggests_the_nearest(session, typed, nearest):
    with pytest.raises(UserError) as error:
        authorities.resolve(session, typed)
    assert error.value.template == "unknown_authority"
    assert error.value.data["suggestions"][0] == nearest
    assert len(error.value.data["suggestions"]) <= 3


def test_nothing_typed(session):
    with pytest.raises(UserError) as error:
        authorities.resolve(session, "--")
    assert error.value.template == "missing_authority"


def test_fold():
    assert authorities.fold("  Ynys Môn ") == "ynys-mon"
    assert authorities.fold("Rhondda Cynon Taf") == "rhondda-cynon-taf"
