"""Python client of the data-science workspaces platform; ``dsw`` is its command line.

    from dsw_client import Client
    dsw = Client()                                   # DSW_URL / DSW_TOKEN, or what `dsw login` saved
    workspace = dsw.workspaces.create("analysis", size="Small")
    print(dsw.workspaces.wait_until_running(workspace).url)
"""

__version__ = "0.1.0"

from dsw_client.client import Client  # noqa: E402  (after __version__, which the transport reads)
from dsw_client.errors import (  # noqa: E402
    ApiError, BadInput, Conflict, DswError, NotAllowed, NotFound, NotSignedIn, NotThePlatform, PlatformUnreachable,
    RateLimited, ServerError, TokenRefused, WaitTimeout, WorkspaceFailed,
)

__all__ = [
    "ApiError", "BadInput", "Client", "Conflict", "DswError", "NotAllowed", "NotFound", "NotSignedIn", "NotThePlatform",
    "PlatformUnreachable", "RateLimited", "ServerError", "TokenRefused", "WaitTimeout", "WorkspaceFailed", "__version__",
]
