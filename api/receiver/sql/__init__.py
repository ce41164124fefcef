"""SQLite statements of the reference receiver's journal."""
