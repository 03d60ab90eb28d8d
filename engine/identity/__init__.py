"""Organisations, users, memberships and roles, passwords, TOTP, sessions, API tokens."""
