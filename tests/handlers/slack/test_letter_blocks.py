"""The letter in Slack blocks: within Slack's limits, nothing lost, nothing formatted."""

from __future__ import annotations

from bot.letters.render import Element, parse
from handlers.slack import letter_blocks as blocks
from handlers.slack.text import visible


def words_of(text: str) -> list[str]:
    return visible(text).replace("•", " ").split()


def test_long_paragraph_is_split_between_words_without_losing_any():
    paragraph = " ".join(f"word{i}" for i in range(2500))  # ~ 20,000 characters
    result = blocks.letter_blocks([Element("paragraph", (paragraph,))])
    assert len(result) > 6
    assert all(b["type"] == "section" and len(b["text"]["text"]) <= 3000 for b in result)
    assert words_of(blocks.visible_text(result)) == paragraph.split()


def test_a_word_longer_than_a_block_is_cut_not_dropped_and_entities_stay_whole():
    word = "x" * 2997 + "&&&" + "y" * 4000
    pieces = blocks.split_text(word.replace("&", "&amp;"))
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == word.replace("&", "&amp;")
    assert not any(p.endswith(("&", "&a", "&am", "&amp")) for p in pieces)


def test_headings_have_three_sizes_and_paragraphs_are_packed():
    elements = parse(
        "# Subject\n\nOne.\n\nTwo.\n\n## List:\n\n- a\n- b\n\n## Summary\n\n"
        "### Well-being\n\nFirst.\n\nSecond.\n\n### People\n\nThird.\n"
    )
    result = blocks.letter_blocks(elements)
    # The subject is a header block (large); a section heading is bold, set off by a
    # divider; a principle heading is a bold line leading its first paragraph.
    assert [b["type"] for b in result] == [
        "header",
        "section",
        "divider",
        "section",
        "section",
        "divider",
        "section",
        "section",
    ]
    assert result[0]["text"]["text"] == "Subject"
    assert result[1]["text"]["text"] == "One.\n\nTwo."
    assert result[3]["text"]["text"] == "*List:*"
    assert result[4]["text"]["text"] == "• a\n• b"
    assert result[6]["text"]["text"] == "*Summary*"
    assert result[7]["text"]["text"] == ("*Well-being*\nFirst.\n\nSecond.\n\n*People*\nThird.")
    long_heading = blocks.letter_blocks([Element("heading", ("h" * 200,), 1)])
    assert long_heading[0]["type"] == "section"


def test_links_keep_their_address_and_their_label_is_escaped():
    result = blocks.letter_blocks(
        parse("The [report <!here>](https://www.careinspectorate.wales/r?a=1&b=2) is out.\n")
    )
    assert result[0]["text"]["text"] == (
        "The <https://www.careinspectorate.wales/r?a=1&amp;b=2|report &lt;!here&gt;> is out."
    )


def test_user_text_in_blocks_notifies_nobody_and_formats_nothing():
    text = "Ask <!channel> and <!here> and @channel and <@U123> about *this* _now_ ~ok~"
    result = blocks.letter_blocks([Element("paragraph", (text,)), Element("item", (text,))])
    sent = blocks.visible_text(result)
    for raw in ("<!channel>", "<!here>", "<@U123>", "@channel", "*this*", "_now_", "~ok~"):
        assert raw not in sent
    assert visible(result[0]["text"]["text"]).startswith(text)


def test_messages_hold_at_most_fifty_blocks():
    many = [blocks.section(str(i)) for i in range(175)]
    parts = blocks.messages(many, first_capacity=45)
    assert [len(p) for p in parts] == [45, 50, 50, 30]
    assert [b for p in parts for b in p] == many
