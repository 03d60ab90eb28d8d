"""Consents, legal bases, recipient capabilities and the person's rights: whether a transmission
may happen, and why not (see docs/consent.md)."""
