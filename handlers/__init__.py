"""Platform adapters: `handlers.slack`, `handlers.teams`; `handlers.commands` is shared."""
