"""Turns the portal's launch spec into a running notebook server.

Imported by JupyterHub's configuration, so it must never import Django, Celery
or the portal's apps (an import-linter contract in the test suite enforces it).
"""
