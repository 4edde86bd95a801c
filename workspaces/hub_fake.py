"""An in-memory JupyterHub that answers what `workspaces.hub.HubClient` asks, for tests of the reconciler and
culling that run in milliseconds. It models what the portal can observe of a hub: users, named servers that
are pending (spawn or stop) or ready, progress events, a server list, and its failure modes:

- `slow(n)`: a spawn needs `n` more looks before it is ready (each `server_state` call is a look);
- `refuse(message)`: the next start requests are refused (HubError, as a 4xx/5xx would be);
- `unreachable = True`: every call raises HubUnreachable, as a hub that is down;
- `fail_spawn(user, server, message)`: the pending spawn fails (the hub forgets the server; its progress
  stream ends with a failed event);
- `forget(user, server)`: the server vanishes, as when its process died and the hub noticed;
- `kernels[url]`: what `/api/kernels` of a server answers.

What only the spawner sees (an out-of-memory kill, an exit status) reaches the portal through its own
report (`workspaces.services.workspace_report_*`); tests call those directly.
"""

from workspaces.hub import HubError, HubUnreachable, ServerState, SpawnProgress


class FakeHub:
    def __init__(self, *, spawn_looks=0):
        self.users = {}  # name -> {server: {"ready": bool, "pending": str, "looks": int}}
        self.spawn_looks = spawn_looks  # looks a new spawn takes before it is ready
        self.unreachable = False
        self.refusals = []
        self.failures = {}  # (user, server) -> message of a failed spawn, read once by spawn_progress
        self.kernels = {}
        self.calls = []  # (method, user, server): what the portal asked, in order
        self.requests_made = 0
        self.tokens_made = 0  # server_token: the one-server tokens the portal asked for

    # --- failure modes ----------------------------------------------------------------------------

    def slow(self, looks):
        self.spawn_looks = looks

    def refuse(self, message="The hub refused (500)"):
        self.refusals.append(message)

    def fail_spawn(self, user, server, message):
        self.users.get(user, {}).pop(server, None)
        self.failures[(user, server)] = message

    def forget(self, user, server):
        self.users.get(user, {}).pop(server, None)

    def run(self, user, server):
        """A server that is up, as the hub would list it after a spawn (or a re-adoption)."""
        self.users.setdefault(user, {})[server] = {"ready": True, "pending": "", "looks": 0}

    # --- HubClient's calls ------------------------------------------------------------------------

    def _call(self, method, user="", server=""):
        self.requests_made += 1
        self.calls.append((method, user, server))
        if self.unreachable:
            raise HubUnreachable("The hub at fake://hub does not answer: ConnectionError")

    def ensure_user(self, user):
        self._call("ensure_user", user)
        self.users.setdefault(user, {})

    def start_server(self, user, server):
        self._call("start_server", user, server)
        if self.refusals:
            raise HubError(f"The hub refused to start {user}/{server}: {self.refusals.pop(0)}")
        servers = self.users.setdefault(user, {})
        if server not in servers:
            self.failures.pop((user, server), None)
            servers[server] = {"ready": self.spawn_looks == 0, "pending": "" if self.spawn_looks == 0 else "spawn",
                               "looks": self.spawn_looks}
        return True

    def stop_server(self, user, server, *, remove=False):
        self._call("stop_server", user, server)
        self.users.get(user, {}).pop(server, None)

    def server_state(self, user, server):
        self._call("server_state", user, server)
        if user not in self.users:
            return ServerState(exists=False, user_exists=False)
        found = self.users[user].get(server)
        if found is None:
            return ServerState(exists=False)
        if found["pending"] == "spawn":
            found["looks"] -= 1
            if found["looks"] <= 0:
                found.update(ready=True, pending="")
        return ServerState.from_model({"ready": found["ready"], "pending": found["pending"],
                                       "url": f"/user/{user}/{server}/", "last_activity": ""})

    def spawn_progress(self, user, server, *, max_seconds=2.0):
        self._call("spawn_progress", user, server)
        if (user, server) in self.failures:
            return SpawnProgress(progress=100, message=f"Spawn failed: {self.failures.pop((user, server))}", failed=True)
        found = self.users.get(user, {}).get(server)
        if found is None:
            return SpawnProgress(progress=0, message="")
        return SpawnProgress(progress=50 if found["pending"] else 100, message="Starting the server",
                             ready=not found["pending"])

    def running_servers(self, *, page_size=200):
        return {key: state for page in self.active_server_pages(page_size=page_size) for key, state in page}

    def active_server_pages(self, *, page_size=200):
        self._call("list_servers")
        items = [((user, server), ServerState.from_model({"ready": found["ready"], "pending": found["pending"],
                                                          "url": f"/user/{user}/{server}/", "last_activity": ""}))
                 for user, servers in sorted(self.users.items()) for server, found in sorted(servers.items())]
        for start in range(0, max(len(items), 1), page_size):
            yield items[start:start + page_size]

    def server_token(self, user, server, *, expires_in=600, note="portal"):
        self._call("server_token", user, server)
        self.tokens_made += 1
        return str(self.tokens_made), f"token-{user}-{server}-{self.tokens_made}"

    def server_kernels(self, server_url, *, token, timeout=None):
        self._call("server_kernels", server_url)
        if not token.startswith("token-"):
            raise HubError(f"Reading the kernels of {server_url} failed: 403")
        if server_url not in self.kernels:
            raise HubError(f"Reading the kernels of {server_url} failed: 503")
        return self.kernels[server_url]
