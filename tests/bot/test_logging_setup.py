"""The log format: python-json-logger's formatter, the fields operators read, every field
capped, tokens and secrets redacted before anything is cut."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from bot import logging_setup
from tests.logs import captured

SECRET = "signing-secret-0123456789"


@pytest.fixture
def lines():
    with captured(secrets=[SECRET]) as read:
        yield read


def test_the_formatter_is_the_librarys_and_lines_carry_the_fields_operators_read(lines):
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler.formatter, LibraryJsonFormatter)
    log = logging.getLogger("ciw.test")
    log.info("request", extra={"path": "/slack/events", "status": "200", "ms": 1.5, "retry": None})
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("failed", extra={"attempt": 2})
    request, failed = lines()
    assert list(request) == ["ts", "level", "logger", "msg", "path", "status", "ms"]
    assert (request["level"], request["logger"], request["msg"]) == ("info", "ciw.test", "request")
    assert (request["path"], request["status"], request["ms"]) == ("/slack/events", "200", 1.5)
    stamp = dt.datetime.fromisoformat(request["ts"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=1)
    assert list(failed) == ["ts", "level", "logger", "msg", "attempt", "exc"]
    assert failed["level"] == "error" and failed["attempt"] == 2
    assert failed["exc"].startswith("Traceback") and failed["exc"].endswith("ValueError: broken")


def test_every_field_is_capped_whatever_a_caller_passes(lines):
    log = logging.getLogger("ciw.test")
    huge = "x" * 5_000_000
    log.warning("typed: %s", huge, extra={"word": huge, "things": [huge], "more": {"k": huge}})
    log.info({"a dict": huge})
    try:
        raise RuntimeError("y" * 1_000_000 + " the end")
    except RuntimeError:
        log.exception("boom")
    log.info("where", stack_info=True, extra={"deep": "z" * 300})
    typed, as_dict, boom, where = lines()  # each checked against the caps as it is read
    assert typed["msg"] == "typed: " + "x" * 249 + f"…[{5_000_007 - 256} more characters]"
    assert typed["word"].startswith("x" * 256 + "…[")
    assert typed["things"].startswith("['xxx") and typed["more"].startswith("{'k': 'xxx")
    assert list(as_dict) == ["ts", "level", "logger", "msg"]
    # A traceback keeps its start and its end, where the exception is.
    assert boom["exc"].startswith("Traceback (most recent call last)")
    assert boom["exc"].endswith(" the end") and "characters cut]" in boom["exc"]
    assert where["stack"].startswith("Stack (most recent call last)")
    assert len(where["deep"]) < 300


def test_tokens_and_secrets_are_redacted_before_a_field_is_cut(lines):
    log = logging.getLogger("ciw.test")
    log.info(
        "token %s",
        "xoxb-123-456-abc",
        extra={
            "header": "Bearer xapp-1-A0-xyz",
            "near_the_cut": "a" * 250 + SECRET,
            "inside": {"token": "xoxp-777-888"},
        },
    )
    try:
        raise RuntimeError(f"failed with xoxb-999-secret and {SECRET}")
    except RuntimeError:
        log.exception("boom")
    text = str(lines())
    for secret in ("xoxb-123", "xapp-1-A0", "xoxp-777", "xoxb-999", SECRET[:8]):
        assert secret not in text
    assert text.count("[redacted]") >= 5


def test_a_field_names_only_what_the_code_knows():
    assert logging_setup.known("note", ["note", "help"]) == "note"
    assert logging_setup.known("jane.doe-dob", ["note", "help"]) == "unknown"
    assert logging_setup.known(None, ["note"]) == "unknown"
    tenant = "11111111-2222-3333-4444-555555555555"
    assert logging_setup.shaped(tenant, logging_setup.GUID) == tenant
    assert logging_setup.shaped(tenant + "x", logging_setup.GUID) == "unknown"
    assert logging_setup.shaped("block_actions", logging_setup.NAME) == "block_actions"
    assert logging_setup.shaped("/ciw", logging_setup.NAME) == "/ciw"
    assert logging_setup.shaped("jane doe 943-476", logging_setup.NAME) == "unknown"
    assert logging_setup.shaped({"type": "x"}, logging_setup.NAME) == "unknown"
    assert logging_setup.shaped("2", logging_setup.NUMBER) == "2"
    assert logging_setup.shaped("2; jane", logging_setup.NUMBER) == "unknown"
