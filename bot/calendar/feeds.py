"""Calendar feeds: each person's secret feed address and the iCalendar (RFC 5545) feed of
the activities they are an inspector of.

Only the SHA-256 of a token is stored, so the address is shown once, when it is made; a
fetch looks the hash up (a unique index) in the same query that reads the activities.
Every change to an activity raises its `sequence` (`bot.records.activities.touched`),
which calendar clients read as SEQUENCE to know an event moved. Findings, notes and drafts never reach a feed:
the query reads activity columns only.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from bot.access import roles
from bot.render import Templates
from db.models import (
    Activity,
    ActivityInspector,
    ActivityStatus,
    Authority,
    CalendarFeed,
    Role,
    RoleGrant,
    Service,
)

TOKEN_BYTES = 32  # 256 bits from secrets.token_urlsafe: 43 URL-safe characters
SHOWN = (ActivityStatus.SCHEDULED, ActivityStatus.POSTPONED, ActivityStatus.CANCELLED)
REFRESH = dt.timedelta(hours=1)
# An activity has a start time but no end: one on a single day is shown for an hour, one
# over several days until the office day ends on its last day.
TIMED_LENGTH = dt.timedelta(hours=1)
OFFICE_DAY_ENDS = dt.time(17, 0)
PRODID = "-//Care Inspectorate Wales//ciw-bot//EN"
# Raised whenever the feed's layout changes, so clients holding an old ETag fetch again.
# 2: the VTIMEZONE's own (summer time began an hour late in icalendar's).
FORMAT = "2"


def new_token() -> str:
    """A fresh, unguessable feed token (256 bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored and looked up for a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def feed_of(session: Session, user_id: str) -> CalendarFeed | None:
    """The person's feed, if they have one."""
    return session.get(CalendarFeed, user_id)


def issue(session: Session, *, user_id: str, platform: str, now: dt.datetime) -> str:
    """Give the person a new feed token, replacing any old one (which stops working at once)."""
    token = new_token()
    feed = session.get(CalendarFeed, user_id)
    if feed is None:
        session.add(
            CalendarFeed(
                user_id=user_id, platform=platform, token_hash=token_hash(token), created_at=now
            )
        )
    else:
        feed.platform, feed.token_hash, feed.created_at = platform, token_hash(token), now
    session.flush()
    return token


def address(public_url: str, token: str) -> str:
    """The feed's address under PUBLIC_URL."""
    return f"{public_url}/calendar/{token}.ics"


@dataclass(frozen=True)
class Entry:
    """One activity as a feed shows it: nothing else of the activity is read."""

    id: int
    title: str
    authority: str
    service: Service
    start: dt.date
    end: dt.date
    time: dt.time | None
    status: ActivityStatus
    sequence: int
    revised_at: dt.datetime


@dataclass(frozen=True)
class Feed:
    """A token's owner and the activities their feed shows, in date order."""

    user_id: str
    platform: str
    role: Role | None
    roles_enforced: bool
    entries: list[Entry]


def load(session: Session, token: str) -> Feed | None:
    """The feed for a token, in one indexed query; None for an unknown (or replaced) token.

    The token's row (unique index on its hash), its owner's role, whether roles are enforced,
    and the owner's activities (index on activity_inspectors.user_id) come back together;
    the owner's row is there even when they have no activity (an empty calendar).
    """
    rows = session.execute(
        select(
            CalendarFeed.user_id.label("owner"),
            CalendarFeed.platform,
            RoleGrant.role,
            roles.enforced_clause().label("enforced"),
            Activity.id,
            Activity.title,
            Authority.english_name.label("authority"),
            Activity.service,
            Activity.start_date,
            Activity.end_date,
            Activity.start_time,
            Activity.status,
            Activity.sequence,
            func.coalesce(Activity.revised_at, Activity.created_at).label("revised_at"),
        )
        .select_from(CalendarFeed)
        .outerjoin(RoleGrant, RoleGrant.user_id == CalendarFeed.user_id)
        # A chain of outer joins, not a nested join: both SQLite and PostgreSQL then reach
        # the person's rows through the user_id index. Their activities that a feed does not
        # show come back as rows without an activity, and are skipped below.
        .outerjoin(ActivityInspector, ActivityInspector.user_id == CalendarFeed.user_id)
        .outerjoin(
            Activity,
            and_(
                Activity.id == ActivityInspector.activity_id,
                Activity.status.in_(SHOWN),
                Activity.removed_at.is_(None),
            ),
        )
        .outerjoin(Authority, Authority.id == Activity.authority_id)
        .where(CalendarFeed.token_hash == token_hash(token))
        .order_by(Activity.start_date, Activity.start_time, Activity.id)
    ).all()
    if not rows:
        return None
    first = rows[0]
    entries = [
        Entry(
            id=row.id,
            title=row.title,
            authority=row.authority,
            service=Service(row.service),
            start=row.start_date,
            end=row.end_date,
            time=row.start_time,
            status=ActivityStatus(row.status),
            sequence=row.sequence,
            # SQLite hands back the coalesced time as text, without the column's type.
            revised_at=_utc(row.revised_at),
        )
        for row in rows
        if row.id is not None
    ]
    return Feed(first.owner, first.platform, first.role, bool(first.enforced), entries)


def _utc(value: dt.datetime | str) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def may_see(feed: Feed, admins: frozenset[str]) -> bool:
    """Whether the owner may still have a feed: any role, or no roles enforced yet."""
    return feed.role is not None or feed.user_id in admins or not feed.roles_enforced


def etag(feed: Feed, zone: ZoneInfo) -> str:
    """A strong ETag computed from exactly what the feed's text is made of."""
    digest = hashlib.sha256(f"{FORMAT}|{zone.key}".encode())
    for entry in feed.entries:
        digest.update(repr(entry).encode("utf-8"))
    return f'"{digest.hexdigest()[:32]}"'


def _times(entry: Entry, zone: ZoneInfo) -> tuple[dt.date | dt.datetime, dt.date | dt.datetime]:
    if entry.time is None:
        # All-day events end on the day after their last (DTEND is exclusive).
        return entry.start, entry.end + dt.timedelta(days=1)
    start = dt.datetime.combine(entry.start, entry.time, tzinfo=zone)
    end = dt.datetime.combine(entry.end, OFFICE_DAY_ENDS, tzinfo=zone)
    if entry.end == entry.start or end <= start:
        end = start + TIMED_LENGTH
    return start, end


_STATUS = {
    ActivityStatus.SCHEDULED: ("CONFIRMED", "OPAQUE"),
    # The old dates are kept, marked, and no longer block the time until a new date is set.
    ActivityStatus.POSTPONED: ("TENTATIVE", "TRANSPARENT"),
    ActivityStatus.CANCELLED: ("CANCELLED", "TRANSPARENT"),
}


def render(feed: Feed, zone: ZoneInfo, templates: Templates) -> bytes:
    """The feed as an iCalendar object: one VEVENT per activity, with the office's VTIMEZONE."""
    # Imported when a feed is first served: most processes never write one (~3 MB).
    from icalendar import Calendar, vDuration

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    name = templates.calendar("name").strip()
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    # An X- property is untyped to icalendar: the duration must be typed to read PT1H.
    calendar.add("x-published-ttl", vDuration(REFRESH))
    if any(entry.time is not None for entry in feed.entries):
        years = [e.start.year for e in feed.entries] + [e.end.year for e in feed.entries]
        from bot.calendar.vtimezone import vtimezone

        calendar.add_component(vtimezone(zone, min(years) - 1, max(years) + 1))
    # icalendar writes each event (about 0.2 ms apiece); an unchanged activity's event is
    # written once and kept, so a 500-event feed is not 100 ms of formatting on every poll.
    framed = calendar.to_ical()
    if not framed.endswith(_END):
        raise ValueError("icalendar wrote a calendar that does not end with END:VCALENDAR")
    events = b"".join(_event(entry, zone, templates) for entry in feed.entries)
    return framed[: -len(_END)] + events + _END


_END = b"END:VCALENDAR\r\n"


@functools.lru_cache(maxsize=20_000)
def _event(entry: Entry, zone: ZoneInfo, templates: Templates) -> bytes:
    # Keyed by everything the event is made of (the entry carries its sequence).
    start, end = _times(entry, zone)
    status, transparency = _STATUS[entry.status]
    data = {"entry": entry, "ref": f"A{entry.id}"}
    from icalendar import Event

    vevent = Event()
    vevent.add("uid", f"activity-{entry.id}@ciw-bot")
    vevent.add("dtstamp", entry.revised_at)
    vevent.add("sequence", entry.sequence)
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    vevent.add("summary", templates.calendar("summary", **data).strip())
    vevent.add("description", templates.calendar("description", **data).strip())
    vevent.add("status", status)
    vevent.add("transp", transparency)
    vevent.add("class", "PRIVATE")
    return vevent.to_ical()
