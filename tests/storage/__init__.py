"""Contract tests of the storage ports, run on memory, SQLite and PostgreSQL."""
