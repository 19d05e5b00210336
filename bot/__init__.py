"""ciw-bot's centre: coordinates Care Inspectorate Wales inspection work, in Slack and in
Microsoft Teams, knowing neither (docs/architecture.md).

Its rooms: `records`, `access`, `delivery`, `letters`, `calendar`, `review`, `reminders`;
the frame they stand on: `settings`, `runtime`, `render`, `answering`, `errors`,
`logging_setup`; above them: `cli`, `adapters`, `demo`. May import `db`; never `handlers`.
"""
