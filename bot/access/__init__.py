"""Access: who may do what (inspector, reviewer, admin), granted and checked.

May import `bot.records` (history), `bot.errors` and `db`.
"""
