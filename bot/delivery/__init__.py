"""Delivery: what the bot owes the chat platforms, and how it is said.

- `messages`: the neutral `Message` and its markup, which each platform's dialect shapes;
- `outbox`: every message owed, stored with the records that cause it, claimed and sent
  once; `sending`: the send report and the background sender every platform shares;
- `pages`: long listings cut into pages a chat message shows whole.

Nothing here talks to a platform: the doors' senders (`handlers.slack.deliveries`,
`handlers.teams.sender`) do. May import the frame (`bot.runtime`, `bot.settings`) and
`db`; no other room.
"""
