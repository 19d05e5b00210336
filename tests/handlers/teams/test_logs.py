"""What Teams activities leave in the logs: no typed word, however long, only names the
bot knows, every line within the caps (SPEC "Operating it")."""

from __future__ import annotations

import pytest

from tests.handlers.teams.world import CHANNEL
from tests.logs import captured, leaked

PERSONAL = "jane.doe-dob-03/04/2015-nhs-943-476-5919-safeguarding-referral"
FRAGMENTS = ["jane.doe", "03/04/2015", "943-476-5919", "safeguarding", "referral"]
# Below the 1 MB a request body may have, with the activity around it.
LONGEST = 900_000


@pytest.fixture
def lines(cloud):
    with captured(secrets=[cloud.app_password]) as read:
        yield read


def commands(lines):
    return [(line["command"], line["platform"]) for line in lines if line["msg"] == "command"]


def test_a_first_word_full_of_personal_data_is_logged_as_unknown(org, lines):
    org.say(f"{PERSONAL} wrexham children", "ann")
    assert "log-activity" in org.last("ann")  # told which subcommands there are
    org.say(f"note {PERSONAL}", "ann", channel=CHANNEL)
    assert commands(lines()) == [("/ciw unknown", "teams"), ("/ciw note", "teams")]
    assert leaked(lines(), FRAGMENTS) == []


def test_a_huge_message_leaves_short_lines(org, lines):
    word = ("safeguarding-" * (LONGEST // 13 + 1))[:LONGEST]
    org.say(word, "ann")
    org.say(f"help {word}"[:LONGEST], "ann")
    logged = lines()  # each line checked against the caps as it is read
    assert commands(logged) == [("/ciw unknown", "teams"), ("/ciw help", "teams")]
    assert leaked(logged, FRAGMENTS) == []
    assert max(len(str(line)) for line in logged) < 2_000


def test_a_clicked_verb_and_a_stranger_tenant_leave_no_typed_text(org, lines):
    answer = org.click(PERSONAL, {"note": PERSONAL}, org["ann"])
    assert answer.status_code == 200
    activity = org.message("help", org["ann"])
    activity["channelData"]["tenant"]["id"] = PERSONAL
    activity["conversation"]["tenantId"] = PERSONAL
    assert org.post(activity).status_code == 401
    org.settle()
    logged = lines()
    assert [line["tenant"] for line in logged if "tenant" in line] == ["unknown"]
    assert leaked(logged, FRAGMENTS) == []
