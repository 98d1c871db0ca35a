"""Exports to the health register: streamed, consent-true, incremental."""
