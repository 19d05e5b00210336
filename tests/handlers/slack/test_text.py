"""Text as Slack sends it and as the bot must send it back."""

from __future__ import annotations

from handlers.slack.text import ZERO_WIDTH_SPACE, escape, extract_mentions, unescape, visible


def test_mentions_become_user_ids_and_leave_the_text():
    text, users = extract_mentions("meeting with <@U123|alex> and <@W9ZZ> | <@U123|alex> notes")
    assert users == ["U123", "W9ZZ"]
    assert "<@" not in text
    assert text == "meeting with and | notes"


def test_unescape_gives_back_what_was_typed():
    assert unescape("A &amp; B &lt;3 &gt;") == "A & B <3 >"
    assert unescape("<!channel> and <!here|here>") == "@channel and here"
    assert unescape("see <#C0123|inspections>") == "see #inspections"
    assert unescape("<https://gov.wales|gov.wales> <mailto:a@b.wales|a@b.wales>") == (
        "gov.wales a@b.wales"
    )
    assert unescape("ask <@U123|alex>") == "ask @alex"
    assert unescape("ask <@U123>") == "ask @U123"
    # Typed literally, `<!channel>` arrives escaped and is kept as text.
    assert unescape("&lt;!channel&gt;") == "<!channel>"


def test_escape_makes_broadcasts_and_mentions_inert():
    for typed in ["<!channel>", "<!here>", "<@U123>", "@here", "@channel", "@everyone"]:
        out = escape(typed)
        assert "<!" not in out and "<@" not in out
        assert "@here" not in out and "@channel" not in out and "@everyone" not in out
        assert visible(out) == typed


def test_escape_keeps_welsh_and_ampersands_readable():
    typed = "Cyfarfod â'r Cyfarwyddwr — gwasanaethau plant & teuluoedd"
    assert escape(typed) == typed.replace("&", "&amp;")
    assert visible(escape(typed)) == typed


def test_escape_defuses_formatting_markers():
    out = escape("*bold* _it_ ~s~ `code`")
    assert ZERO_WIDTH_SPACE in out
    assert visible(out) == "*bold* _it_ ~s~ `code`"


def test_an_address_stays_one_whole_link():
    from handlers.slack.limits import mrkdwn_problems

    typed = "see https://example.org/a_b_c?x=1&y=2 and mailto:a_b@c.wales, then _this_."
    out = escape(typed)
    assert "<https://example.org/a_b_c?x=1&amp;y=2>" in out
    assert "<mailto:a_b@c.wales>," in out
    assert "_" + ZERO_WIDTH_SPACE + "this_" + ZERO_WIDTH_SPACE in out  # the rest still inert
    assert mrkdwn_problems(out) == []
    assert visible(out) == typed


def test_long_text_is_cut_between_words_never_inside_an_entity_or_link():
    from handlers.slack.text import split_mrkdwn

    word = "ab&amp;c "  # 9 characters, an entity in each
    text = word * 1000 + "<https://example.org/" + "p" * 40 + "|a long label here>"
    pieces = split_mrkdwn(text, 3000)
    assert "".join(p + " " for p in pieces).split() == text.split()
    for piece in pieces:
        assert len(piece) <= 3000
        assert piece.endswith(("c", ">")) and piece.startswith(("ab", "<"))
    # One unbroken run is cut at the limit, but not through an entity.
    run = "x" * 2998 + "&amp;" + "y" * 10
    first, second = split_mrkdwn(run, 3000)
    assert first == "x" * 2998 and second.startswith("&amp;")


def test_an_address_in_bold_or_brackets_ends_where_the_address_ends():
    out = escape("(see *https://gov.wales/a_b*) or https://gov.wales.")
    assert "<https://gov.wales/a_b>" in out and "<https://gov.wales>." in out
    assert visible(out) == "(see *https://gov.wales/a_b*) or https://gov.wales."


def test_the_neutral_markup_as_mrkdwn():
    from bot.delivery.messages import channel, mention, shield
    from handlers.slack.text import mrkdwn

    text = (
        "**A12 moved** by "
        + mention("U0ALEX", "alex")
        + " in "
        + channel("C0REVIEW")
        + ": "
        + shield("<!channel> & *urgent*")
        + "\n> quoted `/ciw note <authority>` [report](https://example.org/r)"
    )
    assert mrkdwn(text) == (
        "*A12 moved* by <@U0ALEX> in <#C0REVIEW>: &lt;!channel&gt; &amp; *\u200burgent*\u200b"
        "\n> quoted `/ciw note &lt;authority&gt;` <https://example.org/r|report>"
    )
