"""Consents and (later) legal bases: whether a transmission may happen, and why not."""
