"""Forms when the database is down or slow, and forms Slack delivers twice."""

from __future__ import annotations

import json
import time

from db.models import Finding
from tests.faults.conftest import tally
from tests.handlers.slack.test_forms import FINDING, count


def submit_view(
    workspace, callback_id: str, view_id: str, view_hash: str, *, age: int = 0, **fields
):
    """Submit a form as Slack delivers it (`age`: seconds ago it was signed, as a
    redelivery of the same payload is signed anew)."""
    from tests.handlers.slack.test_forms import opened_for, state

    body, headers = workspace.requests.interaction(
        {
            "type": "view_submission",
            "user": {"id": "U0INSPECT", "username": "u0inspect", "team_id": "T0CIW"},
            "trigger_id": "9.trigger",
            "view": {
                "id": view_id,
                "hash": view_hash,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": opened_for(workspace, callback_id, "U0INSPECT", "G0REVIEW"),
                "blocks": [{"type": "input", "block_id": "text"}],
                "state": state(**fields),
            },
        }
    )
    headers.update(workspace.requests.sign(body, int(time.time()) - age))
    return workspace.post(body, headers)


def test_a_finding_submitted_while_the_database_is_down_keeps_the_form_open(
    workspace, runtime, slack, database
):
    database.down()
    answer = submit_view(workspace, "log_finding_form", "V0DOWN", "h1", **FINDING)
    database.up()
    assert answer.status == 200
    body = json.loads(answer.body)
    # Not closed as if saved: the form stays open and says the database is not answering.
    assert body["response_action"] == "errors"
    assert "database is not answering" in " ".join(body["errors"].values())
    assert count(runtime, Finding) == 0
    # Submitted again once the database is back: recorded, once.
    answer = submit_view(workspace, "log_finding_form", "V0DOWN", "h1", **FINDING)
    assert answer.status == 200 and "errors" not in answer.body
    assert count(runtime, Finding) == 1
    tally(lost=1 - count(runtime, Finding))


def test_a_finding_submitted_while_its_table_is_locked_is_answered_within_3_seconds(
    workspace, runtime, slack, table_lock
):
    # Held until the answer has come (a form's ack waits at most ACK_DB_BUDGET_MS for the
    # database, well within Slack's 3 s).
    lock = table_lock("findings")
    started = time.monotonic()
    answer = submit_view(workspace, "log_finding_form", "V0SLOW", "h1", **FINDING)
    took = time.monotonic() - started
    assert answer.status == 200 and took < 3.0
    assert lock.held, "answered while the table was still locked"
    body = json.loads(answer.body)
    assert body["response_action"] == "errors"
    assert "database is not answering" in " ".join(body["errors"].values())
    # The lock is gone and every piece of the app's work has finished: nothing was recorded.
    lock.release()
    runtime.shutdown()
    assert count(runtime, Finding) == 0


def test_the_same_form_delivered_twice_records_once(workspace, runtime, slack):
    for age in (0, 60, 120):
        answer = submit_view(workspace, "log_finding_form", "V0TWICE", "h7", age=age, **FINDING)
        assert answer.status == 200
    assert count(runtime, Finding) == 1
    tally(duplicates=count(runtime, Finding) - 1)
