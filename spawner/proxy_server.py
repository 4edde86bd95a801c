"""configurable-http-proxy (its Python port) with routing by host name.

Workspaces are served from per-user host names (`alice.localhost`), so that no workspace shares an
origin with the portal or with another person's workspace: a page a workspace serves cannot act with
anyone else's portal session. That needs the proxy to route by host. The Node.js proxy does with
`--host-routing`; the Python port takes the option but looks every route up without the host. This
entry point runs the same proxy with a handler that includes the request's host in the lookup (a
host with no route of its own falls through to the default target, the portal).

Use it like configurable-http-proxy (JupyterHub may pass `--host-routing` without a value):

    python -m spawner.proxy_server --ip 127.0.0.1 --port 8000 --api-port 8001 --default-target URL --host-routing true
"""

import sys

from configurable_http_proxy import cli
from configurable_http_proxy.configproxy import PythonProxy
from configurable_http_proxy.handlers import ProxyHandler
from tornado.web import Application


class _ForHost:
    """The proxy as one request's handler sees it: route lookups include that request's host."""

    def __init__(self, proxy, host):
        self._proxy, self._host = proxy, host

    def __getattr__(self, name):
        return getattr(self._proxy, name)

    def target_for_req(self, _host, path):
        # The handler passes the path without its leading '/'; routes are keyed "/<host>/<path>".
        return self._proxy.target_for_req(self._host, "/" + path.lstrip("/"))


class HostRoutingHandler(ProxyHandler):
    async def get_target_url(self, path):
        proxy = self.proxy
        self.proxy = _ForHost(proxy, self.request.host_name.lower())
        try:
            return await super().get_target_url(path)
        finally:
            self.proxy = proxy


class HostRoutingProxy(PythonProxy):
    def __init__(self, options=()):
        super().__init__(options)
        if self.host_routing:
            self.proxy_app = Application([(r"/(.*)", HostRoutingHandler, {"proxy": self})])


def _with_flag_values(argv):
    """`--host-routing` is a flag for JupyterHub (and the Node.js proxy), an option with a value here."""
    fixed = []
    for index, arg in enumerate(argv):
        fixed.append(arg)
        if arg == "--host-routing" and (index + 1 == len(argv) or argv[index + 1].startswith("--")):
            fixed.append("true")
    return fixed


def main(argv=None):
    cli.PythonProxy = HostRoutingProxy
    cli.main(args=_with_flag_values(sys.argv[1:] if argv is None else argv), prog_name="configurable-http-proxy")


if __name__ == "__main__":
    main()
