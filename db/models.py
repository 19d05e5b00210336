"""SQLAlchemy 2 typed models: the whole schema of the bot."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates
from sqlalchemy.types import Date, TypeDecorator


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# Bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): they
# make recorded text read differently from what was typed ("Trojan Source"), in Slack and
# in the letter. Stripped from everything recorded.
BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


class UnstorableText(Exception):
    """Text a record cannot hold (a NUL byte): the centre answers it as the user's mistake
    (`bot.runtime.Runtime.transaction` turns it into UserError "bad_character")."""


def clean_text(value: str | None, *, strict: bool = True) -> str | None:
    """Recorded text without bidi controls; a NUL byte (which PostgreSQL cannot store)
    refused with a clear message (`strict`) or dropped."""
    if value is None:
        return None
    if "\x00" in value:
        if strict:
            raise UnstorableText("a NUL byte")
        value = value.replace("\x00", "")
    return value.translate(BIDI_CONTROLS)


def utcnow() -> dt.datetime:
    """Now, in UTC, timezone-aware."""
    return dt.datetime.now(dt.UTC)


# Slack ids are short; a Teams conversation id (`a:1…`, `19:…@thread.tacv2`) runs past 100.
CONVERSATION_ID = 255


class Base(DeclarativeBase):
    """Declarative base of every model."""


class Service(enum.StrEnum):
    CHILDREN = "children"
    ADULTS = "adults"
    BOTH = "both"


class ActivityStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    POSTPONED = "postponed"
    CANCELLED = "cancelled"


class Principle(enum.StrEnum):
    WELL_BEING = "well-being"
    PEOPLE = "people"
    PREVENTION = "prevention"
    PARTNERSHIPS = "partnerships"


class FindingKind(enum.StrEnum):
    STRENGTH = "strength"
    IMPROVEMENT = "improvement"


class Language(enum.StrEnum):
    EN = "en"
    CY = "cy"
    BOTH = "both"


class Role(enum.StrEnum):
    INSPECTOR = "inspector"
    REVIEWER = "reviewer"
    ADMIN = "admin"


class Decision(enum.StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK, the same on SQLite and PostgreSQL.
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
    )


class Authority(Base):
    """One of the 22 Welsh local authorities, and what its letter is addressed with."""

    __tablename__ = "authorities"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    english_name: Mapped[str] = mapped_column(String(120))
    welsh_name: Mapped[str] = mapped_column(String(120))
    director: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)  # lines joined by "\n"
    language: Mapped[Language] = mapped_column(_enum(Language, "language"), default=Language.EN)

    @validates("director", "address")
    def _clean(self, _key: str, value: str | None) -> str | None:
        return clean_text(value)

    @property
    def address_lines(self) -> list[str]:
        """The postal address, one line per item."""
        return [line for line in (self.address or "").split("\n") if line.strip()]


class Activity(Base):
    """An inspection activity: a meeting, conference, focused activity, inspection, review."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_authority_start", "authority_id", "start_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    service: Mapped[Service] = mapped_column(_enum(Service, "service"))
    title: Mapped[str] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column(Time)
    status: Mapped[ActivityStatus] = mapped_column(_enum(ActivityStatus, "activity_status"))
    status_reason: Mapped[str | None] = mapped_column(Text)
    # Where it was logged (a Slack channel, a Teams conversation): its reminders go there.
    channel_id: Mapped[str | None] = mapped_column(String(CONVERSATION_ID))
    platform: Mapped[str] = mapped_column(String(10), default="slack", server_default="slack")
    logged_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(40))
    # Raised by bot.records.activities.touched on every change: the feed's SEQUENCE and DTSTAMP.
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    revised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    authority: Mapped[Authority] = relationship(lazy="joined", innerjoin=True)
    inspectors: Mapped[list[ActivityInspector]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ActivityInspector.user_id"
    )

    @validates("title", "details", "status_reason")
    def _clean(self, _key: str, value: str | None) -> str | None:
        return clean_text(value)

    @property
    def inspector_ids(self) -> list[str]:
        """Slack user ids of the activity's inspectors."""
        return [i.user_id for i in self.inspectors]


class ActivityInspector(Base):
    """An inspector (Slack user) taking part in an activity."""

    __tablename__ = "activity_inspectors"
    # A person's activities (calendar feeds) are found by user id, the key's second column.
    __table_args__ = (Index("ix_activity_inspectors_user", "user_id"),)

    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)


class Finding(Base):
    """A strength or area for improvement under one principle of the 2014 Act."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_authority_year", "authority_id", "review_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    review_year: Mapped[int] = mapped_column(Integer)  # 2019 means 2019-20
    principle: Mapped[Principle] = mapped_column(_enum(Principle, "principle"))
    kind: Mapped[FindingKind] = mapped_column(_enum(FindingKind, "finding_kind"))
    service: Mapped[Service | None] = mapped_column(_enum(Service, "finding_service"))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(40))

    authority: Mapped[Authority] = relationship(lazy="joined", innerjoin=True)

    @validates("text")
    def _clean(self, _key: str, value: str | None) -> str | None:
        return clean_text(value)


class NoteSection(enum.StrEnum):
    """Where in the letter a note is printed."""

    INTRO = "intro"
    PLAN = "plan"
    WELL_BEING = "well-being"
    PEOPLE = "people"
    PREVENTION = "prevention"
    PARTNERSHIPS = "partnerships"


class Note(Base):
    """A narrative paragraph of one authority's letter for one review year that is no record:
    the introduction's context, the plan's national work, a principle's wider remarks."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_authority_year", "authority_id", "review_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    review_year: Mapped[int] = mapped_column(Integer)  # 2019 means 2019-20
    section: Mapped[NoteSection] = mapped_column(_enum(NoteSection, "note_section"))
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(40))

    authority: Mapped[Authority] = relationship(lazy="joined", innerjoin=True)

    @validates("text")
    def _clean(self, _key: str, value: str | None) -> str | None:
        return clean_text(value)


class Progress(Base):
    """Progress made in one review year on an area for improvement of an earlier year: a
    paragraph of that year's letter, under the principle of the improvement it answers."""

    __tablename__ = "progress"
    __table_args__ = (
        Index("ix_progress_authority_year", "authority_id", "review_year"),
        Index("ix_progress_finding", "finding_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The improvement's authority, kept here too so a year's progress is read by one index.
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id"))
    review_year: Mapped[int] = mapped_column(Integer)  # the year the progress belongs to
    text: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(40))

    finding: Mapped[Finding] = relationship(lazy="joined", innerjoin=True)

    @validates("text")
    def _clean(self, _key: str, value: str | None) -> str | None:
        return clean_text(value)


class HistoryEntry(Base):
    """One change to a record: append-only, never updated or deleted."""

    __tablename__ = "history"
    __table_args__ = (Index("ix_history_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(20))  # activity, finding, authority, draft, role
    subject_id: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Draft(Base):
    """A draft letter for one authority and review year, reviewed in one Slack thread."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("authority_id", "review_year", "channel_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    review_year: Mapped[int] = mapped_column(Integer)
    channel_id: Mapped[str] = mapped_column(String(CONVERSATION_ID))
    platform: Mapped[str] = mapped_column(String(10), default="slack", server_default="slack")
    # Slack: the parent message's ts; Teams: the root card's activity id.
    thread_ts: Mapped[str | None] = mapped_column(String(40), index=True)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    authority: Mapped[Authority] = relationship(lazy="joined", innerjoin=True)
    versions: Mapped[list[DraftVersion]] = relationship(
        back_populates="draft", order_by="DraftVersion.number", lazy="selectin"
    )


class DraftVersion(Base):
    """One assembled version of a draft letter."""

    __tablename__ = "draft_versions"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"))
    number: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)  # the letter as plain text, one paragraph a line
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    message_ts: Mapped[str | None] = mapped_column(String(40))
    file_id: Mapped[str | None] = mapped_column(String(40))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the completeness check found missing when the version was made (a list of
    # {"code": …, …} dicts), shown on the review message.
    warnings: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    draft: Mapped[Draft] = relationship(back_populates="versions")


class Review(Base):
    """An approval or a change request on one draft version.

    A reviewer approves a version at most once (a unique index on the approvals), so a
    double-click or a second process can never record a second approval.
    """

    __tablename__ = "reviews"
    __table_args__ = (
        Index(
            "ux_reviews_one_approval",
            "version_id",
            "user_id",
            unique=True,
            sqlite_where=text("decision = 'approve'"),
            postgresql_where=text("decision = 'approve'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("draft_versions.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(40))
    decision: Mapped[Decision] = mapped_column(_enum(Decision, "decision"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @validates("reason")
    def _clean(self, _key: str, value: str | None) -> str | None:
        return clean_text(value)


class Comment(Base):
    """A reply in a draft's thread, recorded against the version it answers."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("draft_versions.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    message_ts: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    @validates("text")
    def _clean(self, _key: str, value: str | None) -> str | None:
        # A thread reply cannot be refused: what cannot be stored is dropped.
        return clean_text(value, strict=False)


class ProcessedEvent(Base):
    """An Events API event id already handled: Slack retries are recognised by it."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """The outbox: one message the bot owes a chat platform, sent exactly once.

    Each row is one platform-neutral message (`action`: post, update, upload) to one
    destination (`channel`, `thread_ts`, or the thread of the draft named by `draft_id`);
    `payload` holds plain values, never a platform's blocks: the platform's sender renders
    them when it sends. Rows are written in the same transaction as the records they
    speak of. Rows sharing a `conversation` go out in id order, each only after the one
    before it was sent. A row is claimed atomically before it is sent and marked sent
    only after the platform accepted it; its `key` travels with the message (Slack's
    message metadata) so a sender taking over a lapsed claim finds it instead of sending
    it twice.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "sent_at", "due_at"),
        Index("ix_deliveries_conversation", "conversation", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    activity_id: Mapped[int | None] = mapped_column(ForeignKey("activities.id"), index=True)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"), index=True)
    channel: Mapped[str] = mapped_column(String(CONVERSATION_ID))
    thread_ts: Mapped[str | None] = mapped_column(String(40))
    # Whose sender delivers it: "slack" or "teams".
    platform: Mapped[str] = mapped_column(String(10), default="slack", server_default="slack")
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(40))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_ts: Mapped[str | None] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(20), default="post", server_default="post")
    conversation: Mapped[str | None] = mapped_column(String(CONVERSATION_ID + 40))
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class IdempotencyKey(Base):
    """Something a platform may deliver twice, seen once by any process: a signed request's
    signature (replays), a form submission (view id and hash)."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class RoleGrant(Base):
    """A role granted to a Slack user by an admin."""

    __tablename__ = "roles"

    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    granted_by: Mapped[str] = mapped_column(String(40))
    granted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarFeed(Base):
    """A person's calendar feed: only the SHA-256 of its secret token is kept."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    platform: Mapped[str] = mapped_column(String(10), default="slack", server_default="slack")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- the Welsh version of an approved letter (language cy or both) -------------------------
class Translation(Base):
    """The Welsh version owed for one approved English draft version, and its pack."""

    __tablename__ = "translations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("draft_versions.id"), unique=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The pack is claimed before it is uploaded, so two approvals at once upload it once.
    pack_claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pack_file_id: Mapped[str | None] = mapped_column(String(40))

    version: Mapped[DraftVersion] = relationship(lazy="joined", innerjoin=True)
    texts: Mapped[list[WelshText]] = relationship(
        back_populates="translation", order_by="WelshText.revision", lazy="selectin"
    )


class WelshText(Base):
    """One revision of a version's Welsh text: the paragraphs of a translator's .docx."""

    __tablename__ = "welsh_texts"
    __table_args__ = (
        UniqueConstraint("translation_id", "revision"),
        UniqueConstraint("translation_id", "message_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    translation_id: Mapped[int] = mapped_column(ForeignKey("translations.id"))
    revision: Mapped[int] = mapped_column(Integer)
    paragraphs: Mapped[list[str]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(20))  # "pack" or "document"
    file_id: Mapped[str] = mapped_column(String(40))
    file_name: Mapped[str] = mapped_column(String(255))
    message_ts: Mapped[str] = mapped_column(String(40))
    uploaded_by: Mapped[str] = mapped_column(String(40))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    translation: Mapped[Translation] = relationship(back_populates="texts")


class WelshReview(Base):
    """An approval or a change request on one revision of a Welsh text."""

    __tablename__ = "welsh_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    welsh_text_id: Mapped[int] = mapped_column(ForeignKey("welsh_texts.id"), index=True)
    user_id: Mapped[str] = mapped_column(String(40))
    decision: Mapped[Decision] = mapped_column(_enum(Decision, "welsh_decision"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# -- Microsoft Teams -------------------------------------------------------------------------
class TeamsConversation(Base):
    """A conversation reference, stored when the bot is installed or first spoken to: what a
    proactive message needs (its service URL was validated with the activity's token)."""

    __tablename__ = "teams_conversations"

    id: Mapped[str] = mapped_column(String(CONVERSATION_ID), primary_key=True)
    service_url: Mapped[str] = mapped_column(String(500))
    tenant_id: Mapped[str] = mapped_column(String(40))
    bot_id: Mapped[str] = mapped_column(String(CONVERSATION_ID))
    # "personal", "channel" or "groupChat"; a channel's team and the user of a personal chat.
    conversation_type: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[str | None] = mapped_column(String(CONVERSATION_ID))
    user_id: Mapped[str | None] = mapped_column(String(40), index=True)  # Entra object id
    name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TeamsMember(Base):
    """A Teams user as the Bot Connector last described them: roles and `CIW_ADMINS` use the
    Entra object id; a proactive personal chat needs the Teams id (`29:…`)."""

    __tablename__ = "teams_members"

    user_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # Entra object id
    teams_id: Mapped[str] = mapped_column(String(CONVERSATION_ID), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    user_role: Mapped[str | None] = mapped_column(String(20))  # user, guest, anonymous
    tenant_id: Mapped[str] = mapped_column(String(40))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class FileLink(Base):
    """An expiring download link (`PUBLIC_URL/files/<token>`) to one of a draft version's
    files: its .docx (`kind` "draft"), its translation pack ("pack"), or a final file of
    the letter issued from it ("final", `issued_file_id`); or to the overview of a review
    year as CSV ("overview", `review_year`, no version). Only the SHA-256 of its token is
    kept; each download goes into the history."""

    __tablename__ = "file_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("draft_versions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="draft", server_default="draft")
    issued_file_id: Mapped[int | None] = mapped_column(
        ForeignKey("issued_files.id", name="fk_file_links_issued_file")
    )
    review_year: Mapped[int | None] = mapped_column(Integer)  # an overview's year
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class LetterIssue(Base):
    """A letter issued: the approved version sent to the director, dated `issued_on`, and
    where it was published. One per version; an amended letter is a new version's."""

    __tablename__ = "letter_issues"
    __table_args__ = (Index("ix_letter_issues_authority_year", "authority_id", "review_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authority_id: Mapped[int] = mapped_column(ForeignKey("authorities.id"))
    review_year: Mapped[int] = mapped_column(Integer)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("draft_versions.id"), unique=True)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_url: Mapped[str | None] = mapped_column(String(2000))
    published_by: Mapped[str | None] = mapped_column(String(40))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    files: Mapped[list[IssuedFile]] = relationship(
        back_populates="issue", order_by="IssuedFile.id", lazy="selectin"
    )

    @property
    def state(self) -> str:
        """`published` once its address is recorded, else `issued`."""
        return "published" if self.published_url else "issued"


class IssuedFile(Base):
    """One final file of an issued letter (`en` or `cy`), kept as it was issued: it never
    changes, whatever later happens to the template or the records."""

    __tablename__ = "issued_files"
    __table_args__ = (UniqueConstraint("issue_id", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("letter_issues.id"))
    language: Mapped[str] = mapped_column(String(5))
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(300))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str] = mapped_column(String(64))

    issue: Mapped[LetterIssue] = relationship(back_populates="files")
