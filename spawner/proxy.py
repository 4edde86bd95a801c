"""The proxy when something other than the hub runs it (platform_run's child, a Kubernetes Deployment).

JupyterHub puts its routes into an external proxy only when the hub starts and every few minutes
after; a proxy that restarted (it keeps its routes in memory) would send every open notebook to the
portal until then. SupervisedProxy looks every `route_check_interval` seconds and, when the hub's own
route is missing, adds every route again at once.
"""

from jupyterhub.proxy import ConfigurableHTTPProxy
from tornado.ioloop import PeriodicCallback
from traitlets import Integer


class SupervisedProxy(ConfigurableHTTPProxy):
    route_check_interval = Integer(
        2, help="Seconds between looks for a proxy that restarted and lost the routes (0: never).",
    ).tag(config=True)

    _route_watch = None

    async def check_routes(self, user_dict, service_dict, routes=None):
        await super().check_routes(user_dict, service_dict, routes)
        if self._route_watch is None and self.route_check_interval:
            self._route_watch = PeriodicCallback(self._restore_lost_routes, 1000 * self.route_check_interval)
            self._route_watch.start()

    async def _restore_lost_routes(self):
        try:
            routes = await self.get_all_routes()
        except Exception as exc:  # noqa: BLE001  (a proxy that is down right now: its supervisor restarts it)
            self.log.debug("The proxy does not answer: %s", exc)
            return
        if self.app.hub.routespec in routes:
            return
        self.log.warning("The proxy has lost its routes (it restarted); adding them again")
        await self.check_routes(self.app.users, self.app._service_map, routes)
