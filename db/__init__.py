"""Database: SQLAlchemy models, sessions, Alembic migrations, the authorities' seed data and
the database's health. Imports nothing of `bot` or `handlers` (docs/architecture.md)."""
