"""`Idempotency-Key`: a retried write returns its first response and writes nothing again."""
