"""How active running servers are: the hub's last activity plus what their kernels say.

A thin adapter: the hub client does the HTTP, workspaces.culling interprets the answers.
Kernel checks run concurrently, at most `concurrency` at a time, each with a timeout; one
server that hangs or answers garbage gives an error for that server only.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from portal.integrations.jupyterhub import HubError
from workspaces.culling import kernels_activity, parse_time

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerActivity:
    last_activity: datetime | None
    busy: bool = False
    error: str = ""  # the kernels could not be read; last_activity is then the hub's alone


def hub_activity(state):
    """The hub's view of one server (a ServerState): its last activity, never busy."""
    return ServerActivity(last_activity=parse_time(state.last_activity))


def servers_activity(hub, states, *, concurrency, timeout, connected_is_active):
    """{key: ServerActivity} for {key: ServerState}, combining the hub's last activity with each
    server's kernels (the latest kernel activity; busy when a kernel executes)."""

    def check(item):
        key, state = item
        from_hub = hub_activity(state)
        try:
            kernels = hub.server_kernels(state.url, timeout=timeout)
        except HubError as exc:
            logger.warning("Culling: kernels of %s/%s unreadable: %s", *key, exc)
            return key, ServerActivity(from_hub.last_activity, error=str(exc))
        except Exception as exc:  # one odd server must not end the sweep
            logger.exception("Culling: checking %s/%s failed", *key)
            return key, ServerActivity(from_hub.last_activity, error=exc.__class__.__name__)
        kernel_seen, busy = kernels_activity(kernels, connected_is_active=connected_is_active)
        latest = max(filter(None, [from_hub.last_activity, kernel_seen]), default=None)
        return key, ServerActivity(latest, busy=busy)

    if not states:
        return {}
    with ThreadPoolExecutor(max_workers=min(concurrency, len(states)), thread_name_prefix="cull-check") as pool:
        return dict(pool.map(check, states.items()))
