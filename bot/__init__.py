"""ciw-bot: coordinates Care Inspectorate Wales inspection work in Slack."""
