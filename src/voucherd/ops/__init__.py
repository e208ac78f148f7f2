"""Operations on a whole install: SQLite backups and restores, and the move to PostgreSQL."""
