"""Database: SQLAlchemy models, sessions, Alembic migrations and seed data."""
