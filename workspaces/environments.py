"""Which environments a workspace may launch from.

Until the image catalog exists, the only environment is the platform's own Jupyter
environment ("local:default"): the Python that runs the platform.
"""

import sys

from django.core.exceptions import ValidationError

DEFAULT = "local:default"


def resolve(reference):
    reference = (reference or "").strip() or DEFAULT
    if reference != DEFAULT:
        raise ValidationError({"image": f"Unknown environment {reference!r}. Available: {DEFAULT}."})
    return reference


def launch_environment(reference):
    """The spawner's view of an environment (see spawner/spec.py)."""
    if reference == DEFAULT:
        return {"kind": "local", "python": sys.executable}
    raise ValueError(f"unknown environment {reference!r}")
