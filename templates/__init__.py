"""Jinja2 templates: every text the bot shows (messages) and the letters it drafts."""
