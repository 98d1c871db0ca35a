"""Historical register entries brought in: validated whole, written set-based, idempotent."""
