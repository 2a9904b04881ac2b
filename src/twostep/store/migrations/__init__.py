"""Alembic environment and revisions for the twostep schema (run via ``twostep.store.migrate``)."""
