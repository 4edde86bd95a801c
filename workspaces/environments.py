"""Which environments a workspace may launch from: the image catalog decides (images.selectors).

A workspace stores what it launches pinned: ``local:<name>`` for a host environment or
``<registry>/<repo>@sha256:…`` for an image, never a floating tag.
"""

from images.selectors import launch_environment_for, launch_resolve

DEFAULT = "local:default"


def resolve(reference, *, user, team):
    """The pinned reference to store; ValidationError on field ``image`` for unknown or blocked images."""
    return launch_resolve(user=user, team=team, reference=reference)[1]


def launch_environment(reference):
    """The spawner's view of an environment (see spawner/spec.py)."""
    return launch_environment_for(reference)
