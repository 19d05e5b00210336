"""The doors: `handlers.slack`, `handlers.teams` and `handlers.web` (the plain routes), the
subcommands both platforms share (`handlers.commands`), and the one server (`serve`,
`http_guard`). May import `bot` and `db` (docs/architecture.md).
"""
