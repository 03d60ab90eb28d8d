"""Webhooks: partner systems told what happened (Standard Webhooks, signed, retried) and
answering back (signed, replay-proof); people notified by email."""
