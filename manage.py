#!/usr/bin/env python
"""Django's command-line utility for the platform."""
import os
import sys
from pathlib import Path


def main():
    # The Django project package lives in platform/, a plain folder (see pyproject.toml).
    sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
