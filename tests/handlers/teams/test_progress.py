"""`progress` in Teams through the Bot Connector's request format: recorded and answered in
the personal chat, refused with nothing recorded, corrected with `edit P` and `remove P`,
listed, and the improvements without progress flagged on the draft's review card."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Draft, HistoryEntry, Progress
from tests.handlers.teams.test_cards import problems
from tests.handlers.teams.world import CHANNEL, card_of, text_of

FINDINGS = [
    "log-finding wrexham 2019-20 well-being improvement children Child protection visits "
    "were often late.",
    "log-finding wrexham 2019-20 people improvement adults CMHT staff feedback was mixed.",
    "log-finding wrexham 2019-20 people strength adults Safeguarding work is good.",
]


def recorded(org) -> tuple[int, int]:
    with org.runtime.transaction() as session:
        return (
            session.scalar(select(func.count()).select_from(Progress)),
            session.scalar(
                select(func.count())
                .select_from(HistoryEntry)
                .where(HistoryEntry.subject == "progress")
            ),
        )


@pytest.fixture
def last_year(org, clock):
    """2019-20's findings logged by Ann during that year; then it is 2020-21."""
    for typed in FINDINGS:
        org.say(typed)
    clock.set("2020-06-01T10:00:00")
    return org


def test_progress_edit_remove_and_list_in_the_personal_chat(last_year):
    org = last_year
    org.say("progress F1 Visits are now on time in most teams.")
    told = org.last("ann")
    assert "Recorded P1: progress in 2020-21 on F1, an area for improvement of 2019-20" in told
    assert "(Child protection visits were often late.)" in told
    assert "the 2020-21 letter to Wrexham County Borough Council" in told
    org.say("progress F1 2020-21 Records now say why a visit was late.")
    org.say("edit P1 Visits are on time in every team.")
    assert "was: Visits are now on time in most teams." in org.last("ann")
    org.say("remove P2")
    assert "P2" in org.last("ann") and "removed" in org.last("ann")
    org.say("list wrexham 2020-21")
    listing = org.last("ann")
    assert "P1 on F1 (well-being, 2019-20): Visits are on time in every team." in listing
    assert "P2" not in listing
    assert "progress recorded: P1" in listing
    assert "F2 people: CMHT staff feedback was mixed. — no progress recorded" in listing
    with org.runtime.transaction() as session:
        kept = session.scalars(select(Progress).order_by(Progress.id)).all()
        assert [(p.created_by, p.removed_by) for p in kept] == [
            (org["ann"].aad, None),
            (org["ann"].aad, org["ann"].aad),
        ]
    assert recorded(org) == (2, 4)  # logged twice, edited, removed


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("progress F3 Text.", "F3 is a strength"),
        ("progress F1 2019-20 Text.", "F1 is an area for improvement of 2019-20"),
        ("progress F9 Text.", "There is no F9"),
        ("progress A1 Text.", "A1 is not a finding id: write it as F7"),
        ("progress F1", "Progress needs its paragraph"),
        ("progress F1 2019-21 Text.", "2019-21 is not a review year"),
    ],
)
def test_refusals_are_answered_privately_and_record_nothing(last_year, typed, expected):
    org = last_year
    org.say(typed, "ann", channel=CHANNEL)
    assert expected in org.last("ann")
    assert recorded(org) == (0, 0)


def test_the_review_card_flags_last_years_improvements_without_progress(last_year):
    org = last_year
    org.say("progress F1 Visits are now on time in most teams.")
    org.say("draft-letter wrexham 2020-21", "ann", channel=CHANNEL)
    with org.runtime.transaction() as session:
        root = session.scalars(select(Draft)).one().thread_ts
    activity = org.cloud.conversations[CHANNEL].activities[root]
    card = card_of(activity)
    assert problems(card) == []
    words = text_of(activity)
    assert (
        "No progress recorded for 2020-21 on F2, an area for improvement of 2019-20 (CMHT staff "
        "feedback was mixed.): /ciw progress F2 2020-21 <text>"
    ) in words.replace("`", "")
    assert "on F1," not in words
    # The letter in the reply chain has the section and its paragraph.
    chain = "\n".join(text_of(a) for a in org.posted(CHANNEL) if a.get("replyToId") == root)
    assert "Progress on areas for improvement from 2019-20" in chain
    assert "Visits are now on time in most teams." in chain
