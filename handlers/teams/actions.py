"""Buttons on the bot's cards (`Action.Execute`, invoke `adaptiveCard/action`), by verb:

- the draft review card: Approve, Request changes (a reason, asked on a card shown to the
  clicker only unless the click carries one), New version;
- a reminder: Done, Snooze, open in `/ciw list`;
- a Welsh upload's note: Approve Welsh, Request changes to Welsh;
- a listing's Next page.

The verbs are the neutral actions' ids (`bot.review.drafts`, `bot.reminders.planning`, `bot.review.translation`);
what a button hands back is its action's value, as `data["value"]` (or the value's own
keys in `data`). Every decision checks the role Slack's would (`bot.access.roles`) and is
answered to the clicker only: the invoke's answer is a message (or a card) only they see.
What a decision shows everyone (the note in the reply chain, the card's new status) is
queued by the domain in the decision's transaction and sent after commit.

A click is done once: the invoke's activity id is kept in the decision's transaction, and
the domain refuses what a second click would repeat (an approval, a new version of a
version no longer current, the same change request again).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from microsoft_teams.api import AdaptiveCardActionCardResponse, AdaptiveCardActionMessageResponse
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from bot.access import roles
from bot.errors import UserError
from bot.records import activities
from bot.records.dates import ReviewYear
from bot.reminders import planning
from bot.review import draft_outbox, draft_versions, drafts, translation
from bot.runtime import Runtime
from db.models import Delivery, DraftVersion, Role, WelshReview, WelshText
from handlers.commands import list_records
from handlers.teams import answers, cards, commands, members
from handlers.teams import text as teams_text
from handlers.teams.members import Person
from handlers.teams.text import escape
from handlers.teams.turns import Duplicate, Turn, claim

log = logging.getLogger("ciw.teams.actions")

CANCEL_CHANGES = "draft_request_changes_cancel"
CANCEL_WELSH_CHANGES = "welsh_request_changes_cancel"

# A card answer is the Universal Action response as Teams documents it, built as data:
# `{"statusCode": 200, "type": "application/vnd.microsoft.card.adaptive", "value": card}`
# (the SDK's AdaptiveCardActionCardResponse, whose card model would refuse cards Teams takes).
Response = AdaptiveCardActionMessageResponse | dict[str, Any]
Handler = Callable[[Turn, Person, dict[str, Any]], Awaitable[Response]]


def said(text: str) -> AdaptiveCardActionMessageResponse:
    """An answer shown to the clicker only; the card stays as it is."""
    return AdaptiveCardActionMessageResponse(value=text)


def refused(runtime: Runtime, error: UserError) -> AdaptiveCardActionMessageResponse:
    """A refusal, privately, with its error template."""
    return said(answers.text(runtime, f"errors/{error.template}", **error.data))


def shown(card: dict[str, Any]) -> dict[str, Any]:
    """A card shown to the clicker in place of the one they clicked (an invoke response)."""
    body = AdaptiveCardActionCardResponse.model_construct(value=None).model_dump()
    return {"status": 200, "body": {**body, "value": card}}


def require(runtime: Runtime, session: Session, user_id: str, needed: Role | None, what: str):
    """The role check every button makes (refusals kept in the history)."""
    roles.check(
        session,
        user_id=user_id,
        needed=needed,
        subcommand=what,
        admins=runtime.settings.admins,
        now=runtime.now(),
    )


def version_here(turn: Turn, session: Session, version_id: int) -> DraftVersion:
    """The draft version a review button names, if its draft is reviewed in the channel the
    click came from: another channel's draft (or a chat's click) is refused as unknown, so a
    button carrying another id learns nothing of it."""
    version = drafts.get_version(session, version_id)
    if version.draft.channel_id != turn.where.base_id:
        raise UserError("draft_unknown")
    return version


def text_here(turn: Turn, session: Session, text_id: int) -> WelshText:
    """The Welsh revision a button names, if its draft is reviewed where the click came from."""
    text = translation.get_text(session, text_id)
    version_here(turn, session, text.translation.version_id)
    return text


# -- what a button hands back ---------------------------------------------------------------
def value_of(data: dict[str, Any]) -> Any:
    """The clicked action's value: `data["value"]`, else the data itself."""
    return data.get("value", data)


def number_of(data: dict[str, Any], *names: str) -> int:
    """The id a button carries (a version's, a Welsh text's)."""
    value = value_of(data)
    if isinstance(value, dict):
        value = next((value[n] for n in names if n in value), None)
    try:
        return int(str(value))
    except (TypeError, ValueError):
        raise UserError("draft_unknown") from None


def reminder_of(data: dict[str, Any]) -> tuple[int, int | None]:
    """(activity id, delivery id) of a reminder button (`{"a": …, "d": …}`)."""
    value = value_of(data)
    try:
        if isinstance(value, str):
            value = json.loads(value)
        activity_id = int(value["a"])
        delivery_id = int(value["d"]) if value.get("d") is not None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UserError("bad_id", value=str(value)[:40], kinds="A") from None
    return activity_id, delivery_id


def _reason(data: dict[str, Any]) -> str:
    reason = data.get("reason")
    return reason.strip() if isinstance(reason, str) else ""


def _reason_key(kind: str, subject_id: int, user_id: str, reason: str) -> str:
    digest = hashlib.sha256(reason.encode()).hexdigest()[:32]
    return f"teams:{kind}:{subject_id}:{user_id}:{digest}"[:200]


def reason_card(
    runtime: Runtime,
    *,
    labels_template: str,
    heading: str,
    verb: str,
    cancel: str,
    value: str,
    limit: int,
    error: str | None = None,
    reason: str = "",
) -> dict[str, Any]:
    """The card asking a reviewer why they request changes (shown to them only)."""
    words = runtime.templates.messages.get_template(labels_template).module.labels
    body: list[dict[str, Any]] = [
        cards.text_block(escape(heading), weight="Bolder"),
        {
            "type": "Input.Text",
            "id": cards.REASON_INPUT,
            "label": words["reason_label"],
            "isMultiline": True,
            "maxLength": limit,
            "isRequired": True,
            "errorMessage": answers.text(runtime, "errors/draft_missing_reason"),
            **({"value": reason} if reason else {}),
        },
        cards.text_block(escape(words["reason_hint"]), isSubtle=True),
    ]
    if error:
        body.append(cards.text_block(escape(error), color="attention"))
    send = cards.execute(words["modal_submit"], verb, value, inputs="auto")
    return cards.card_of(
        body, [send, cards.execute(words["modal_cancel"], cancel, value, inputs="none")]
    )


# -- the draft review card ------------------------------------------------------------------
def review_card(runtime: Runtime, session: Session, version_id: int) -> dict[str, Any]:
    """The draft's review card as it stands now (the decision just recorded included)."""
    from handlers.teams import drafts as teams_drafts

    draft = drafts.get_version(session, version_id).draft
    with teams_text.names(session):
        return teams_drafts.review_card(runtime, session, draft, drafts.current(draft))


async def approve(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """Record the clicker's approval of the version the card shows; they see the card as
    it now stands (everyone does once the queued refresh is sent)."""
    runtime = turn.runtime
    version_id = number_of(data, "version_id", "version")

    def work() -> dict[str, Any]:
        with runtime.transaction() as session:
            claim(session, turn.key, runtime.now())
            require(runtime, session, person.user_id, Role.REVIEWER, "approve")
            version_here(turn, session, version_id)
            drafts.approve(runtime, session, version_id, user_id=person.user_id)
            return review_card(runtime, session, version_id)

    try:
        card = await turn.sync(work)
    except IntegrityError:
        # Another click recorded this approval at the same moment.
        number = await turn.sync(_version_number, runtime, version_id)
        raise UserError("draft_already_approved", version=number) from None
    runtime.kick()  # the decision's note and the card's status, queued with it
    return shown(card)


def _version_number(runtime: Runtime, version_id: int) -> int:
    with runtime.transaction() as session:
        return drafts.get_version(session, version_id).number


async def request_changes(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """With a reason: record the change request. Without: ask for one (on a card only the
    clicker sees)."""
    runtime = turn.runtime
    version_id = number_of(data, "version_id", "version")
    reason = _reason(data)
    typed = "reason" in data

    def work() -> Any:
        with runtime.transaction() as session:
            require(runtime, session, person.user_id, Role.REVIEWER, "request-changes")
            version_here(turn, session, version_id)
            version = drafts.check_reviewable(session, version_id)
            if not reason:
                return ("ask", version.number)
            claim(session, turn.key, runtime.now())
            # The same reason twice from the same person on one version is one request.
            claim(
                session,
                _reason_key("changes", version_id, person.user_id, reason),
                runtime.now(),
            )
            drafts.request_changes(
                runtime, session, version_id, user_id=person.user_id, reason=reason
            )
            return ("done", review_card(runtime, session, version_id))

    try:
        outcome, found = await turn.sync(work)
    except UserError as error:
        if error.template in {"too_long", "draft_missing_reason"}:
            number = await turn.sync(_version_number, runtime, version_id)
            return _ask_reason(runtime, version_id, number, error, reason)
        raise
    if outcome == "ask":
        missing = UserError("draft_missing_reason") if typed else None
        return _ask_reason(runtime, version_id, found, missing, reason)
    runtime.kick()
    return shown(found)


def _ask_reason(
    runtime: Runtime, version_id: int, number: int, error: UserError | None, reason: str
) -> Response:
    labels = runtime.templates.messages.get_template("draft_labels.j2").module.labels
    return shown(
        reason_card(
            runtime,
            labels_template="draft_labels.j2",
            heading=f"{labels['modal_title']} (v{number})",
            verb=drafts.REQUEST_CHANGES,
            cancel=CANCEL_CHANGES,
            value=str(version_id),
            limit=drafts.MAX_REASON,
            error=answers.text(runtime, f"errors/{error.template}", **error.data)
            if error
            else None,
            reason=reason,
        )
    )


async def cancel_changes(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """The reviewer thought better of it: nothing recorded; the card is shown afresh (to
    whoever may request changes on this channel's draft, as the Request changes button)."""
    runtime = turn.runtime
    version_id = number_of(data, "version_id", "version")

    def work() -> None:
        with runtime.transaction() as session:
            require(runtime, session, person.user_id, Role.REVIEWER, "request-changes")
            draft = version_here(turn, session, version_id).draft
            # The card as everyone sees it replaces the reason card the clicker was shown.
            draft_outbox.enqueue_refresh(session, draft, now=runtime.now())

    await turn.sync(work)
    runtime.kick()
    return said(answers.text(runtime, "teams_nothing_recorded"))


async def new_version(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """Re-assemble the letter as the draft's next version (from the current version's card
    only, so a second click does not make two)."""
    runtime = turn.runtime
    version_id = number_of(data, "version_id", "version")

    def work() -> str:
        with runtime.transaction() as session:
            claim(session, turn.key, runtime.now())
            require(runtime, session, person.user_id, Role.INSPECTOR, "draft-letter")
            version_here(turn, session, version_id)
            draft = drafts.check_reviewable(session, version_id).draft
            outcome = draft_versions.new_version(runtime, session, draft, actor=person.user_id)
            return answers.text(
                runtime,
                "draft_posted",
                council=draft.authority.english_name,
                year=ReviewYear(draft.review_year),
                version=outcome.version,
                posted=outcome.posted,
            )

    note = await turn.sync(work)
    runtime.kick()  # the version and its messages committed together: posted now
    return said(note)


# -- reminders ------------------------------------------------------------------------------
def _check_activity(runtime: Runtime, session: Session, user_id: str, what: str, activity_id: int):
    needed = roles.required_role(
        session, subcommand=what, args=f"A{activity_id}", user_id=user_id, declared=Role.INSPECTOR
    )
    require(runtime, session, user_id, needed, what)


def _own_reminder(runtime: Runtime, session: Session, user_id: str, original: Delivery, activity):
    # Only the person the reminder is for (an inspector of the activity, or the chat's
    # owner) or an admin may put it off.
    if original.channel == user_id or user_id in activity.inspector_ids:
        return
    if roles.role_of(session, user_id, runtime.settings.admins) is Role.ADMIN:
        return
    raise UserError("snooze_not_yours", activity=activity)


async def done(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """Mark the reminded activity completed (its reminders stop)."""
    runtime = turn.runtime
    activity_id, _ = reminder_of(data)

    def work() -> str:
        with runtime.transaction() as session:
            claim(session, turn.key, runtime.now())
            _check_activity(runtime, session, person.user_id, "complete", activity_id)
            activity = activities.get_activity(session, activity_id)
            activities.complete(session, activity, actor=person.user_id, now=runtime.now())
            return answers.text(runtime, "reminder_done", activity=activity)

    note = await turn.sync(work)
    runtime.kick()
    return said(note)


async def snooze(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """Remind the same conversation again 1 working day later at 09:00."""
    runtime = turn.runtime
    activity_id, delivery_id = reminder_of(data)

    def work() -> str:
        with runtime.transaction() as session:
            claim(session, turn.key, runtime.now())
            _check_activity(runtime, session, person.user_id, "snooze", activity_id)
            activity = activities.get_activity(session, activity_id)
            original = session.get(Delivery, delivery_id) if delivery_id else None
            if original is None or original.activity_id != activity_id:
                raise UserError("unknown_id", ref=f"A{activity_id}")
            _own_reminder(runtime, session, person.user_id, original, activity)
            planned = planning.snooze(session, original, activity, now=runtime.now())
            if planned is None:
                return answers.text(runtime, "reminder_snooze_refused", activity=activity)
            return answers.text(
                runtime,
                "reminder_snoozed",
                activity=activity,
                due=planned.due_at.astimezone(runtime.settings.tz).date(),
                in_channel=not planning.is_person(original.channel),
            )

    return said(await turn.sync(work))


async def open_list(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """`/ciw list` of the activity's authority and review year, in the clicker's chat."""
    runtime = turn.runtime
    activity_id, _ = reminder_of(data)

    def work() -> str:
        with runtime.transaction() as session:
            require(runtime, session, person.user_id, list_records.ROLE, "list")
            activity = activities.get_activity(session, activity_id)
            return f"list {activity.authority.slug} {ReviewYear.of(activity.start_date).label}"

    typed = await turn.sync(work)
    turn.later(
        lambda away: commands.run_typed(away, person, typed, key=away.key, note_here=False),
        "reminder list",
    )
    return said(answers.text(runtime, "teams_answered_in_chat"))


# -- a listing's pages -----------------------------------------------------------------------
async def next_page(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """The next page, answered in the clicker's chat as if its command were typed; the
    button is gone from the card they clicked."""
    typed = str(value_of(data) if "value" in data else data.get("command") or "")
    turn.later(
        lambda away: commands.run_typed(away, person, typed, key=away.key, note_here=False),
        "next page",
    )
    words = answers.text(turn.runtime, "teams_answered_in_chat")
    return shown(cards.card_of([cards.text_block(escape(words), isSubtle=True)]))


# -- the Welsh review ------------------------------------------------------------------------
async def welsh_approve(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """Record the clicker's approval of the Welsh revision the note was posted with."""
    runtime = turn.runtime
    text_id = number_of(data, "welsh_text_id", "text_id")

    def work() -> str:
        with runtime.transaction() as session:
            claim(session, turn.key, runtime.now())
            require(runtime, session, person.user_id, Role.REVIEWER, "approve-welsh")
            text_here(turn, session, text_id)
            tally = translation.approve(
                session,
                text_id,
                user_id=person.user_id,
                now=runtime.now(),
                required=runtime.settings.required_approvals,
            )
            text = translation.get_text(session, text_id)
            if tally.approved:
                draft_outbox.enqueue_welsh(session, text, "approved", now=runtime.now())
            else:
                draft_outbox.enqueue_refresh(
                    session, text.translation.version.draft, now=runtime.now()
                )
            return answers.text(runtime, "welsh_decided", text=text, tally=tally)

    note = await turn.sync(work)
    runtime.kick()
    return said(note)


async def welsh_request_changes(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """With a reason: record the change request to the Welsh; without: ask for one."""
    runtime = turn.runtime
    text_id = number_of(data, "welsh_text_id", "text_id")
    reason = _reason(data)

    def work() -> tuple[str, Any]:
        with runtime.transaction() as session:
            require(runtime, session, person.user_id, Role.REVIEWER, "request-changes")
            text_here(turn, session, text_id)
            text = translation.check_reviewable(session, text_id)
            if not reason:
                return ("ask", text.revision)
            claim(session, turn.key, runtime.now())
            claim(session, _reason_key("welsh", text_id, person.user_id, reason), runtime.now())
            translation.request_changes(
                session,
                text_id,
                user_id=person.user_id,
                reason=reason,
                now=runtime.now(),
                required=runtime.settings.required_approvals,
            )
            review = session.scalars(
                select(WelshReview)
                .where(WelshReview.welsh_text_id == text_id, WelshReview.user_id == person.user_id)
                .order_by(WelshReview.id.desc())
            ).first()
            draft_outbox.enqueue_welsh(
                session, text, "change_request", review=review, now=runtime.now()
            )
            return ("done", answers.text(runtime, "teams_welsh_changes_recorded", text=text))

    outcome, found = await turn.sync(work)
    if outcome == "ask":
        labels = runtime.templates.messages.get_template("welsh_labels.j2").module.labels
        return shown(
            reason_card(
                runtime,
                labels_template="welsh_labels.j2",
                heading=f"{labels['modal_title']} (r{found})",
                verb=translation.REQUEST_CHANGES,
                cancel=CANCEL_WELSH_CHANGES,
                value=str(text_id),
                limit=translation.MAX_REASON,
                error=answers.text(runtime, "errors/draft_missing_reason")
                if "reason" in data
                else None,
            )
        )
    runtime.kick()
    return said(found)


async def cancel_welsh_changes(turn: Turn, person: Person, data: dict[str, Any]) -> Response:
    """Nothing recorded; the draft's card is shown afresh (to whoever may request changes to
    this channel's Welsh, as the Request changes to Welsh button)."""
    runtime = turn.runtime
    text_id = number_of(data, "welsh_text_id", "text_id")

    def work() -> None:
        with runtime.transaction() as session:
            require(runtime, session, person.user_id, Role.REVIEWER, "request-changes")
            draft = text_here(turn, session, text_id).translation.version.draft
            draft_outbox.enqueue_refresh(session, draft, now=runtime.now())

    await turn.sync(work)
    runtime.kick()
    return said(answers.text(runtime, "teams_nothing_recorded"))


VERBS: dict[str, Handler] = {
    drafts.APPROVE: approve,
    drafts.REQUEST_CHANGES: request_changes,
    CANCEL_CHANGES: cancel_changes,
    drafts.NEW_VERSION: new_version,
    planning.DONE: done,
    planning.SNOOZE: snooze,
    planning.LIST: open_list,
    answers.NEXT_PAGE: next_page,
    translation.APPROVE: welsh_approve,
    translation.REQUEST_CHANGES: welsh_request_changes,
    CANCEL_WELSH_CHANGES: cancel_welsh_changes,
}


def verb_of(activity: Any) -> tuple[str, dict[str, Any]]:
    """The clicked action's verb and data."""
    action = activity.value.action if activity.value is not None else None
    data = dict(action.data or {}) if action is not None else {}
    verb = (action.verb if action is not None else None) or data.get("verb") or ""
    return str(verb), data


async def on_card_action(turn: Turn) -> Response:
    """Answer one click: the sender checked, the verb's handler run, any refusal private."""
    runtime = turn.runtime
    verb, data = verb_of(turn.activity)
    handler = VERBS.get(verb)
    if handler is None:
        log.info("unknown teams card verb", extra={"outcome": "unhandled"})
        return refused(runtime, UserError("internal"))
    try:
        person = await members.checked_sender(turn)
        if isinstance(person, UserError):
            return refused(runtime, person)
        return await handler(turn, person, data)
    except (Duplicate, IntegrityError):
        # The same click delivered twice (at once, or again later): done the first time.
        log.info("repeated teams click dropped", extra={"outcome": "duplicate"})
        return said(answers.text(runtime, "teams_already_done"))
    except UserError as error:
        return refused(runtime, error)
    except DBAPIError:
        log.warning("teams click failed: database unavailable", exc_info=True)
        return refused(runtime, UserError("database_unavailable"))
    except Exception:
        log.exception("teams click failed: %s", verb)
        return refused(runtime, UserError("internal"))


def register(app: Any, runtime: Runtime) -> None:
    """Every `Action.Execute` of the bot's cards."""

    @app.on_card_action
    async def clicked(ctx: Any) -> Response:
        return await on_card_action(Turn.of(runtime, app, ctx))
