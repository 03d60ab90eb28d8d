"""Situations (case files) and their records, encrypted under a per-case key."""
