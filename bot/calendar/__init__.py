"""Calendars: each person's secret feed address and the iCalendar (RFC 5545) feed of the
activities they inspect.

- `feeds`: tokens, the one query a fetch makes, and the feed's text;
- `vtimezone`: the office time zone's VTIMEZONE, written from zoneinfo.

Served over HTTP by `handlers.web.feeds`. May import `bot.records`, `bot.access`, the
frame (`bot.render`) and `db`.
"""
