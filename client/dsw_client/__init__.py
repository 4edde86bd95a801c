"""Python client of the data-science workspaces platform; ``dsw`` is its command line.

    from dsw_client import Client
    dsw = Client()                                   # DSW_URL / DSW_TOKEN, or what `dsw login` saved
    workspace = dsw.workspaces.create("analysis", size="Small")
    print(dsw.workspaces.wait_until_running(workspace).url)
"""

__version__ = "0.1.0"

__all__ = [
    "ApiError", "BadInput", "Client", "Conflict", "DswError", "NotAllowed", "NotFound", "NotSignedIn", "NotThePlatform",
    "PlatformUnreachable", "RateLimited", "ServerError", "TokenRefused", "WaitTimeout", "WorkspaceFailed", "__version__",
]


def __getattr__(name):
    # Imported when first used: `dsw --version` (and any command that fails before its first request)
    # never pays for the client, its typed objects or the HTTP library.
    if name == "Client":
        from dsw_client.client import Client

        return Client
    if name in __all__:
        from dsw_client import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'dsw_client' has no attribute {name!r}")
