"""A bilingual letter's whole life in Teams, through the Bot Connector's request format:
approved in English, its Welsh sent to the bot in a personal chat and approved, issued
with its final files as links in the reply chain, published; and the refusals."""

from __future__ import annotations

import io
import re

import docx
import requests
from sqlalchemy import select

from db.models import FileLink, IssuedFile, LetterIssue
from tests.handlers.teams.test_welsh import (
    CARD,
    approved_in_english,
    chain,
    chain_text,
    click,
    count,
    filled,
    pack_link,
    root_card,
    send,
)
from tests.handlers.teams.world import card_of, text_of

COUNCIL = "Wrexham County Borough Council"
URL = "https://www.careinspectorate.wales/wrexham-performance-review-2019-20"
LINK = re.compile(r"\[([^\]]+)\]\((https?://127\.0\.0\.1:\d+/files/[A-Za-z0-9_-]+)\)")


def final_links(org, draft) -> dict[str, str]:
    """The final files' links in the reply chain: file name → address."""
    found = {}
    for activity in chain(org, draft):
        raw = "\n".join(b.get("text", "") for b in (card_of(activity) or {}).get("body", []))
        if "as issued" in raw:
            found.update(dict(LINK.findall(raw)))
    return found


def welsh_approved(org) -> dict:
    """Wrexham's letter approved in English, the filled pack sent by Alex in the personal
    chat, and its Welsh approved by Bea from the card."""
    draft = approved_in_english(org)
    pack = requests.get(pack_link(org, draft), timeout=10).content
    send(org, "alex", org.cloud.send_file("pecyn.docx", filled(pack)))
    approve = next(a for a in root_card(org, draft)["actions"] if a.get("verb"))
    click(org, approve["verb"], approve["data"], "bea", draft)
    return draft


def test_a_bilingual_letter_is_issued_with_both_files_linked_and_then_published(files_org):
    org = files_org
    draft = approved_in_english(org)
    # Approved in English only: not yet.
    org.say("issue wrexham 2019-20", "bea")
    assert "its Welsh text is not approved yet" in org.last("bea")

    pack = requests.get(pack_link(org, draft), timeout=10).content
    send(org, "alex", org.cloud.send_file("pecyn.docx", filled(pack)))
    approve = next(a for a in root_card(org, draft)["actions"] if a.get("verb"))
    click(org, approve["verb"], approve["data"], "bea", draft)

    org.say("issue wrexham 2019-20", "bea")
    told = org.last("bea")
    assert f"The letter to {COUNCIL} for 2019-20 is issued" in told
    assert f"{COUNCIL} 2019-20 performance review letter (Cymraeg).docx" in told
    assert any("Version 1 is issued" in t for t in chain_text(org, draft))

    links = final_links(org, draft)
    names = [
        f"{COUNCIL} 2019-20 performance review letter.docx",
        f"{COUNCIL} 2019-20 performance review letter (Cymraeg).docx",
    ]
    assert sorted(links) == sorted(names)
    with org.runtime.transaction() as session:
        kept = {f.name: f.content for f in session.scalars(select(IssuedFile))}
        kinds = {link.kind for link in session.scalars(select(FileLink))}
    assert "final" in kinds
    for name in names:
        answer = requests.get(links[name], timeout=10)
        assert answer.status_code == 200
        assert answer.content == kept[name]  # the file as kept when it was issued
        text = "\n".join(p.text for p in docx.Document(io.BytesIO(answer.content)).paragraphs)
        assert "DRAFT" not in text
    welsh = docx.Document(io.BytesIO(kept[names[1]]))
    assert "Paragraff" in "\n".join(p.text for p in welsh.paragraphs)
    assert welsh.core_properties.language == "cy-GB"

    # The card says so; issuing again changes nothing.
    words = text_of({"attachments": [{"contentType": CARD, "content": root_card(org, draft)}]})
    assert "Status: Issued" in words and "Issued on" in words
    org.say("issue wrexham 2019-20", "bea")
    assert "already issued on" in org.last("bea")
    assert count(org, LetterIssue) == 1 and count(org, IssuedFile) == 2
    assert sum("Version 1 is issued" in t for t in chain_text(org, draft)) == 1

    # Published: recorded, noted in the chain, shown on the card.
    org.say(f"publish wrexham 2019-20 {URL}", "bea")
    assert f"recorded as published at {URL}" in org.last("bea")
    assert any(URL in t and "Published" in t for t in chain_text(org, draft))
    words = text_of({"attachments": [{"contentType": CARD, "content": root_card(org, draft)}]})
    assert "Status: Published" in words and URL in words


def test_in_teams_a_guest_and_a_bad_address_are_refused_and_nothing_is_recorded(files_org):
    org = files_org
    welsh_approved(org)
    org.say("issue wrexham 2019-20", "gus")
    assert "guest" in org.last("gus").lower()
    assert count(org, LetterIssue) == 0
    org.say("issue wrexham 2019-20 2099-01-01", "bea")
    assert "after today" in org.last("bea")
    org.say("issue wrexham 2019-20", "bea")
    org.say("publish wrexham 2019-20 http://example.org/letter", "bea")
    assert "is not an https address" in org.last("bea")
    with org.runtime.transaction() as session:
        assert session.scalars(select(LetterIssue.published_url)).one() is None
