"""The plain web: the routes `ciw-bot serve` has whatever platforms are configured.

- `app`: one WSGI application for them, and `/healthz` (the database's state);
- `downloads`: `GET /files/<token>`, a draft version's .docx through its link;
- `feeds`: `GET /calendar/<token>.ics`, a person's calendar feed;
- `metrics`: `GET /metrics` for the operator (Prometheus' format).

A door like `handlers.slack` and `handlers.teams`: may import `bot`, `db` and
`handlers.http_guard`; the platforms' doors import it only for who may read a feed.
"""
