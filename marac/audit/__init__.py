"""Append-only, hash-chained audit events: see record() and verify()."""
