"""The neutral message markup: typed text shielded, rendered per dialect, split whole."""

from __future__ import annotations

from bot.delivery import messages
from bot.delivery.messages import PLAIN, Dialect, channel, mention, shield, split
from bot.render import Templates


def test_typed_markers_cannot_forge_a_mention_or_escape_the_shield():
    forged = "x" + messages.USER_END + messages.MENTION_START + "U0BOSS" + messages.MENTION_END
    text = "Said: " + shield(forged)
    assert messages.plain(text) == "Said: xU0BOSS"
    assert messages.extract_mentions(text) == (text, [])


def test_markup_is_converted_around_what_is_held_out():
    seen: list[str] = []
    dialect = Dialect(
        markup=lambda t: t.replace("**", "*"),
        escape=lambda t: seen.append(t) or t.upper(),
        mention=lambda inside: f"<{inside}>",
        channel=lambda c: f"#{c}",
    )
    text = "**A12 " + shield("moved **here**") + "** by " + mention("U1") + " in " + channel("C1")
    assert dialect.render(text) == "*A12 MOVED **HERE*** by <U1> in #C1"
    assert seen == ["moved **here**"]  # typed text is escaped, never read as markup


def test_plain_words_for_terminals_and_files():
    text = "**Bold** [report](https://example.org/r) " + mention("U1", "alex") + " " + channel("C9")
    assert PLAIN.render(text) == "Bold report (https://example.org/r) @alex #C9"


def test_templates_shield_every_value_they_print():
    templates = Templates()
    neutral = templates.neutral("removed", ref="<!channel> *x*")
    assert shield("<!channel> *x*") in neutral
    assert templates.message("removed", ref="<!channel> *x*") == messages.plain(neutral)


def test_split_never_cuts_a_person_and_keeps_typed_text_shielded():
    person = mention("U0ALEX", "alex")
    text = "\n".join([shield("word " * 30), "see " + person + " " + "z" * 5])
    pieces = split(text, 60)

    def squeezed(value: str) -> str:
        return "".join(value.split())

    assert squeezed("".join(messages.plain(p) for p in pieces)) == squeezed(messages.plain(text))
    assert all(len(p) <= 60 + 2 for p in pieces)  # a shield closed and reopened at a cut
    for piece in pieces:
        assert piece.count(messages.USER_START) == piece.count(messages.USER_END)
        assert piece.count(messages.MENTION_START) == piece.count(messages.MENTION_END)
