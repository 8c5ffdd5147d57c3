"""The demo collection day: ``paychannels demo`` (see docs/reconciliation.md)."""
