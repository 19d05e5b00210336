"""Teams Markdown: the bot's markup rendered, typed text inert whatever it holds.

Typed text is checked against a CommonMark parser (markdown-it, HTML on, the strictest
reading): Teams' card Markdown is a subset of CommonMark, so what CommonMark reads as
plain text Teams does too."""

from __future__ import annotations

import html
import re

import pytest
from markdown_it import MarkdownIt

from bot.delivery.messages import channel, mention, shield
from handlers.teams.text import (
    EMOJI,
    TEAMS,
    WORD_JOINER,
    Directory,
    escape,
    markdown,
    names,
    visible,
)

COMMONMARK = MarkdownIt("commonmark")
HOSTILE = [
    "**bold** and __strong__ and *em* and _em_",
    "[gov.wales](https://evil.example/phish) and ![img](https://evil.example/x.png)",
    "<at>Ann Inspector</at> <b>bold</b> <script>alert(1)</script>",
    "<https://evil.example/autolink> and https://evil.example/bare and www.evil.example",
    "@channel @here @everyone @team and ann@example.org",
    "{{DATE(2017-02-14T06:08:00Z, SHORT)}} {{TIME(2017-02-14T06:08:00Z)}} ${expr}",
    "&lt;already escaped&gt; &amp; &#42; &copy; A & B",
    "- a list\n+ another\n* and another\n1. numbered\n2) too",
    "# heading\n## heading 2\nsetext\n===\n> quoted\n    indented code",
    "`code` ``more`` ~~strike~~ back\\slash \\*escaped\\*",
    "line one\n\nline two\n\n\n| a | b |\n|---|---|",
    "\ue000 markers \ue001 \ue002U1\ue003 typed by someone",
]


def text_of(rendered_html: str) -> str:
    """What a reader sees of CommonMark's HTML: the text, tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", rendered_html)).replace(WORD_JOINER, "")


@pytest.mark.parametrize("typed", HOSTILE)
def test_typed_text_is_plain_text_to_commonmark(typed):
    out = escape(typed)
    rendered = COMMONMARK.render(out)
    for tag in (
        "<a ",
        "<img",
        "<strong>",
        "<em>",
        "<li>",
        "<h1",
        "<h2",
        "<blockquote>",
        "<code>",
        "<at>",
        "<b>",
        "<script",
        "<hr",
        "<pre>",
        "<s>",
        "<table",
    ):
        assert tag not in rendered, (typed, out, rendered)
    shown = re.sub(r"\s+", " ", text_of(rendered)).strip()
    assert shown == re.sub(r"\s+", " ", typed).strip()


def test_typed_dates_and_addresses_never_become_functions_or_links():
    out = escape("{{DATE(2017-02-14T06:08:00Z, SHORT)}} see https://x.example www.y.example a@b.c")
    assert "{{" not in out and "}}" not in out
    assert "://" not in out and "www." not in out
    assert "@" + WORD_JOINER in out
    assert (
        visible(out)
        == "{{DATE(2017-02-14T06:08:00Z, SHORT)}} see https://x.example www.y.example a@b.c"
    )


def test_broadcast_words_are_just_words():
    for word in ("@channel", "@here", "@everyone", "@team"):
        out = escape(word)
        assert word not in out
        assert visible(out) == word


def test_welsh_and_plain_words_stay_as_they_are():
    typed = "Cyfarfod â'r Cyfarwyddwr — gwasanaethau plant, 24 and 25 September 2019"
    assert escape(typed) == typed


def test_the_bots_markup_becomes_teams_markdown():
    neutral = ":alarm_clock: **Reminder: A12 starts today**\n• one\n• two\n_Shortened here._"
    out = markdown(neutral)
    assert (
        out
        == f"{EMOJI['alarm_clock']} **Reminder: A12 starts today**\n- one\n- two\n_Shortened here._"
    )
    rendered = COMMONMARK.render(out)
    assert "<strong>Reminder: A12 starts today</strong>" in rendered
    assert rendered.count("<li>") == 2 and "<em>Shortened here.</em>" in rendered


def test_every_shortcode_the_templates_use_has_its_emoji():
    from pathlib import Path

    used = set()
    for path in Path("templates/messages").rglob("*.j2"):
        used |= set(re.findall(r":([a-z_]+):", path.read_text()))
    used -= {"//"}  # not shortcodes
    missing = {code for code in used if code not in EMOJI and not code.startswith("/")}
    assert not missing, missing
    assert ":" not in markdown(":warning: :page_facing_up:")


def test_links_and_entities_the_bot_wrote_stay_links_and_entities():
    out = markdown("See [the report](https://gov.wales/r?a=1) · `/ciw note x_y <name>` & co")
    rendered = COMMONMARK.render(out)
    assert '<a href="https://gov.wales/r?a=1">the report</a>' in rendered
    assert "/ciw note x_y &lt;name&gt; &amp; co" in rendered  # shown as <name>, never a tag
    assert "<code>" not in rendered and "<em>" not in rendered


def test_shielded_text_inside_bold_stays_inert():
    out = markdown("**" + shield("*x* [y](https://e.example)") + "** done")
    rendered = COMMONMARK.render(out)
    assert rendered.count("<strong>") == 1
    assert "<em>" not in rendered and "<a " not in rendered


def test_people_are_shown_by_name():
    assert markdown(mention("0f0e0d0c-0000-4000-8000-000000000001", "Ann Inspector")) == (
        "Ann Inspector"
    )
    unknown = markdown(mention("0f0e0d0c-0000-4000-8000-000000000001"))
    assert visible(unknown) == "@0f0e0d0c-0000-4000-8000-000000000001"
    directory = Directory(person={"u1": "Bea_Reviewer"}.get)
    with names(directory):
        out = markdown("by " + mention("u1"))
    assert out == "by Bea\\_Reviewer"
    # A name is typed by someone too: never markup, never a mention.
    with names(Directory(person={"u2": "<at>Boss</at> **x**"}.get)):
        out = markdown(mention("u2"))
    assert "<at>" not in out and "**" not in out


def test_channels_are_shown_by_name_or_as_this_channel():
    conversation = "19:abc@thread.tacv2"
    assert markdown("in " + channel(conversation)) == "in this channel"
    with names(Directory(channel={conversation: "Reviews"}.get)):
        assert markdown("in " + channel(conversation)) == "in Reviews"


def test_the_dialect_is_what_templates_use(tmp_path):
    from bot.render import Templates

    teams = Templates().in_dialect(TEAMS)
    text = teams.message(
        "draft_change_request",
        user="u1",
        reason="**now** [x](https://e.example)",
        version=type("V", (), {"number": 2})(),
    )
    assert "\\*\\*now\\*\\*" in text and "\\[x\\]" in text
    assert text.splitlines()[-1].startswith(">")
