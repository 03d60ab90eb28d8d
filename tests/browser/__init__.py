"""Browser tests (Playwright + Debian Chromium) and the administration pages' HTTP tests.

A package so that its conftest does not shadow tests/conftest.py for `from conftest import`.
"""
