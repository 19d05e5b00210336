"""Property-based bad input: arbitrary text at every parser and every subcommand, arbitrary
signed payloads at /slack/events. Never an exception escaping, never a 500, never a row
written for a rejected input."""

import inspect
import json
import logging
import urllib.parse

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from slack_bolt import BoltRequest
from sqlalchemy import MetaData, func, select, text

from bot.errors import UserError
from bot.records import dates, grammar, ids
from handlers.commands import subcommands
from handlers.commands.role import parse_role

# No shrinking: a failure is printed as found (shrinking through HTTP round trips is slow).
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(FUZZ, max_examples=15)

# Words the grammar knows, so examples reach past the first check as well as failing at it.
WORDS = [
    "wrexham",
    "rct",
    "vale",
    "cardiff",
    "children",
    "adults",
    "both",
    "people",
    "prevention",
    "well-being",
    "partnerships",
    "strength",
    "improvement",
    "2019-20",
    "2019-21",
    "2020-04-20",
    "2019-02-30",
    "24/09/2019",
    "2019-09-24..2019-09-25",
    "2019-09-25..2019-09-24",
    "2020-04-20T10:00",
    "T25:99",
    "A1",
    "#A1",
    "F1",
    "A0",
    "F99999999999999999999",
    "|",
    "||",
    "<@U0X|x>",
    "<!channel>",
    "@here",
    "&lt;",
    "<https://x|y>",
    "director",
    "address",
    "language",
    "cy",
    "en",
    "inspector",
    "reviewer",
    "admin",
    "none",
    "30",
    "-1",
    "0",
    "99999999999999999999",
    ";",
    "\u200b",
    "\x00",
    "\n",
    "🙂",
    "ŵ",
    "…",
]
TEXT = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=10).map(" ".join),
)


def parsers():
    """Every typed-text parser, with the extra argument it needs."""
    found = []
    for module in (grammar, dates, ids):
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if name.startswith("parse_") and function.__module__ == module.__name__:
                found.append(function)
    found.append(parse_role)
    return found


EXTRA = {
    "parse_authority_and_year": ["list", "draft-letter"],
    "parse_lifecycle": ["reschedule", "postpone", "cancel", "complete"],
    "parse_id": ["A", "F", "AF"],
}


@pytest.mark.parametrize("parser", parsers(), ids=lambda f: f.__name__)
@settings(FUZZ)
@given(typed=TEXT, choice=st.integers(0, 3))
def test_parsers_only_ever_raise_user_errors(parser, typed, choice):
    extra = EXTRA.get(parser.__name__)
    args = [typed] + ([extra[choice % len(extra)]] if extra else [])
    try:
        parser(*args)
    except UserError as error:
        assert error.template  # every refusal names the template that explains it


class Replies:
    """How each command ended (the dispatcher's log line), and any error logged meanwhile."""

    def __init__(self, slack):
        self.slack = slack
        self.outcomes = []
        self.errors = []
        replies = self

        class Capture(logging.Handler):
            def emit(self, record):
                if record.name == "ciw.command" and hasattr(record, "outcome"):
                    replies.outcomes.append(record.outcome)
                if record.levelno >= logging.ERROR:
                    replies.errors.append(record.getMessage())

        self.handler = Capture()

    def wait(self, seen, token, trigger):
        """The outcome of the command sent after `seen` outcomes, once its answer is out."""
        self.slack.wait_for(lambda s: len(self.outcomes) > seen, timeout=5)
        # Every command answers through its response_url, or opens a form with its trigger.
        self.slack.wait_for(
            lambda s: (
                any(c.get("_token") == token for c in s.responses())
                or any(c.get("trigger_id") == trigger for c in s.of("views.open"))
            ),
            timeout=5,
        )
        return self.outcomes[seen]


@pytest.fixture
def replies(slack):
    capture = Replies(slack)
    logger, command_log = logging.getLogger(), logging.getLogger("ciw.command")
    logger.addHandler(capture.handler)
    # setLevel, not the attribute: it also clears logging's per-logger cache of enabled
    # levels, which an earlier test may have filled while INFO was off.
    level = command_log.level
    command_log.setLevel(logging.INFO)
    yield capture
    logger.removeHandler(capture.handler)
    command_log.setLevel(level)


@pytest.fixture
def row_counts(engine):
    metadata = MetaData()
    metadata.reflect(engine)
    names = sorted(t for t in metadata.tables if t != "alembic_version")

    def counts():
        with engine.connect() as connection:
            return {
                t: connection.execute(select(func.count()).select_from(text(t))).scalar()
                for t in names
            }

    return counts


NAMES = sorted(subcommands())


@settings(FUZZ)
@given(name=st.sampled_from(NAMES), typed=TEXT)
def test_any_text_at_any_subcommand_is_answered_and_rejected_input_writes_nothing(
    app, slack, replies, row_counts, signer, name, typed
):
    body, headers = signer.command(f"{name} {typed}", user="U0FUZZ")
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    before, seen = row_counts(), len(replies.outcomes)
    response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
    assert response.status == 200
    outcome = replies.wait(seen, fields["response_url"].rsplit("/", 1)[1], fields["trigger_id"])
    assert replies.errors == [], replies.errors
    if outcome != "ok":
        assert outcome.startswith("refused:")
        after = row_counts()
        # A refusal may add its own history line (roles), and every signed request is kept
        # against replays; nothing else changes.
        kept = {"history", "idempotency_keys"}
        assert {t: n for t, n in after.items() if t not in kept} == {
            t: n for t, n in before.items() if t not in kept
        }


@settings(FEW)
@given(name=st.sampled_from(NAMES), typed=TEXT)
def test_any_text_through_http_is_never_a_500(workspace, replies, name, typed):
    body, headers = workspace.requests.command(f"{name} {typed}", user="U0FUZZ")
    seen = len(replies.outcomes)
    answer = workspace.post(body, headers)
    assert answer.status == 200
    fields = dict(urllib.parse.parse_qsl(body.decode()))
    replies.wait(seen, fields["response_url"].rsplit("/", 1)[1], fields["trigger_id"])
    assert replies.errors == [], replies.errors


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "type",
                    "event",
                    "user",
                    "payload",
                    "actions",
                    "view",
                    "event_id",
                    "command",
                    "text",
                    "channel",
                    "id",
                    "response_url",
                    "trigger_id",
                    "team_id",
                    "callback_id",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=12,
)
ENVELOPE = st.fixed_dictionaries(
    {
        "type": st.sampled_from(
            [
                "event_callback",
                "block_actions",
                "view_submission",
                "url_verification",
                "app_rate_limited",
                "shortcut",
                "x",
            ]
        ),
        "event": JSON,
        "user": JSON,
    },
    optional={
        "event_id": st.text(max_size=10),
        "challenge": JSON,
        "actions": JSON,
        "view": JSON,
        "team_id": JSON,
    },
)


@settings(FUZZ)
@given(
    kind=st.sampled_from(["json", "form-payload", "form", "raw"]),
    data=st.one_of(ENVELOPE, JSON),
    raw=st.binary(max_size=60),
    retry=st.sampled_from([None, "1", "x"]),
)
def test_any_signed_payload_at_slack_events_is_never_a_500(
    workspace, replies, kind, data, raw, retry
):
    if kind == "json":
        body, content_type = json.dumps(data).encode(), "application/json"
    elif kind == "form-payload":
        body = urllib.parse.urlencode({"payload": json.dumps(data)}).encode()
        content_type = "application/x-www-form-urlencoded"
    elif kind == "form":
        fields = data if isinstance(data, dict) else {"text": data}
        body = urllib.parse.urlencode(
            {str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in fields.items()}
        ).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body, content_type = raw, "application/octet-stream"
    headers = {"Content-Type": content_type, **workspace.requests.sign(body)}
    if retry:
        headers["X-Slack-Retry-Num"] = retry
    answer = workspace.post(body, headers)
    assert answer.status < 500 or answer.status == 503, answer
    assert answer.status != 500


@pytest.fixture
def signer(slack):
    """One signer for the whole test, so every example's response_url is its own."""
    from handlers.slack.double import SignedRequests
    from tests.conftest import SIGNING_SECRET

    return SignedRequests(SIGNING_SECRET, slack)
