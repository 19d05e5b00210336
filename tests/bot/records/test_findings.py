"""Findings recorded, edited and removed, directly on the domain."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.errors import UserError
from bot.records import activities, authorities, findings, history
from bot.records.dates import ReviewYear, When
from db.models import FindingKind, Principle, Service
from db.session import session_factory, transaction

D = dt.date
NOW = dt.datetime(2020, 5, 2, 10, 0, tzinfo=dt.UTC)
TODAY = D(2020, 5, 2)  # in review year 2020-21


@pytest.fixture
def session(engine):
    with transaction(session_factory(engine)) as session:
        yield session


def finding(
    session,
    text="People are listened to.",
    year=None,
    activity=None,
    authority="wrexham",
    service=None,
):
    return findings.log_finding(
        session,
        authority=authorities.resolve(session, authority),
        year=year,
        principle=Principle.PEOPLE,
        kind=FindingKind.STRENGTH,
        service=service,
        activity=activity,
        text=text,
        actor="U0ME",
        today=TODAY,
        now=NOW,
    )


def activity(session, authority="wrexham"):
    return activities.log_activity(
        session,
        authority=authorities.resolve(session, authority),
        service=Service.ADULTS,
        when=When(D(2019, 10, 15), D(2019, 10, 16)),
        title="inspection",
        details=None,
        inspectors=[],
        actor="U0ME",
        channel_id=None,
        today=TODAY,
        now=NOW,
    )


def test_the_year_defaults_to_the_activity_then_today(session):
    assert finding(session).review_year == 2020
    linked = finding(session, activity=activity(session))
    assert (linked.review_year, linked.service) == (2019, Service.ADULTS)
    assert finding(session, year=ReviewYear(2018)).review_year == 2018


def test_an_activity_of_another_authority_is_refused(session):
    with pytest.raises(UserError) as error:
        finding(session, activity=activity(session, "cardiff"))
    assert error.value.template == "activity_elsewhere"


@pytest.mark.parametrize(
    ("text", "template"),
    [("", "missing_finding_text"), ("   \n ", "missing_finding_text"), ("x" * 4001, "too_long")],
)
def test_text_checks(session, text, template):
    with pytest.raises(UserError) as error:
        finding(session, text=text)
    assert error.value.template == template


def test_edit_keeps_the_old_text(session):
    found = finding(session, text="Old wording.")
    old = findings.edit(session, found, " New wording. ", actor="U0BEA", now=NOW)
    assert (old, found.text) == ("Old wording.", "New wording.")
    entries = history.for_subjects(session, "finding", [found.id])[str(found.id)]
    assert [(e.action, e.actor) for e in entries] == [("logged", "U0ME"), ("edited", "U0BEA")]
    assert entries[1].changes == {"old": "Old wording.", "new": "New wording."}


def test_remove_and_for_year(session):
    keep, gone = finding(session, year=ReviewYear(2019)), finding(session, year=ReviewYear(2019))
    finding(session, year=ReviewYear(2019), authority="cardiff")
    findings.remove(session, gone, actor="U0ME", now=NOW)
    assert findings.for_year(session, keep.authority, ReviewYear(2019)) == [keep]
    with pytest.raises(UserError) as error:
        findings.get_finding(session, gone.id)
    assert error.value.data == {"ref": f"F{gone.id}"}


def test_welsh_text_is_kept_intact(session):
    text = "Cyfarfod â'r Cyfarwyddwr — gwasanaethau plant"
    found = finding(session, text=text)
    session.expire_all()
    assert findings.get_finding(session, found.id).text == text
