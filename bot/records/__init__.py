"""Records: what inspectors record and the facts the letter is made of.

- `authorities`: the 22 local authorities, found by slug, alias or name prefix;
- `activities`: activities and their life (logged, rescheduled, postponed, cancelled,
  completed, removed), publishing an event for each change (`events`);
- `findings`, `notes`: strengths, areas for improvement, and the letter's narrative;
- `progress`: what a later year did about an area for improvement;
- `history`: the append-only record of every change; `ids`: `A12`, `F7`, `N3`, `P4`;
- `dates`: dates as typed and as the letter writes them, review years;
- `grammar`: the subcommands' typed arguments turned into plain values;
- `events`: what a change tells the rooms that follow it, in the same transaction.

Functions take plain values and a Session, record history, and never commit.
May import `bot.errors`, `bot.delivery.messages` (typed text's markers) and `db`; no
other room: the rooms above learn of changes through `events`.
"""
