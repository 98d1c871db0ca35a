"""What the database remembers of the keys, and moving every row to new ones."""
