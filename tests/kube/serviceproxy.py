"""Services for the process kubelet's pods, the way kube-proxy's old userspace mode did it: each Service gets its
own loopback address, a listener per port forwards every connection to a ready pod its selector matches (the
target port resolved by name, as the endpoints controller does), and a hosts file gives the Service's DNS names
(name, name.namespace, ….svc, ….svc.cluster.local) to every pod in place of cluster DNS.

Endpoints are computed here, not read from EndpointSlices: the API server refuses loopback addresses in them,
and loopback is where the process kubelet's pods live.
"""

import itertools
import socket
import socketserver
import threading


class ServiceProxy:
    def __init__(self, prefix, hosts_file):
        self._prefix = prefix  # 127.<n>.<m>: a block of the kubelet's own range
        self.hosts_file = hosts_file
        self.hosts_file.write_text("127.0.0.1 localhost\n")
        self._addresses = {}  # (namespace, name) -> address
        self._listeners = {}  # (address, port) -> server
        self._endpoints = {}  # (namespace, name, port name) -> [(ip, port)]
        self._turn = itertools.count()
        self._lock = threading.Lock()

    def address_for(self, namespace, name):
        """The Service's address; reserved on first ask, so a test can know it before the Service exists."""
        with self._lock:
            key = (namespace, name)
            if key not in self._addresses:
                self._addresses[key] = f"{self._prefix}.{len(self._addresses) + 1}"
            return self._addresses[key]

    def sync(self, services, pods):
        ready = [p for p in pods if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")
                 and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", []))]
        endpoints = {}
        for service in services:
            meta, selector = service["metadata"], service["spec"].get("selector")
            if not selector:
                continue
            members = [p for p in ready if p["metadata"]["namespace"] == meta["namespace"]
                       and selector.items() <= (p["metadata"].get("labels") or {}).items()]
            for port in service["spec"].get("ports", []):
                target = port.get("targetPort", port["port"])
                endpoints[(meta["namespace"], meta["name"], port.get("name", ""))] = [
                    (p["status"]["podIP"], number) for p in members if (number := _container_port(p, target))]
        self._endpoints = endpoints
        for service in services:
            meta, spec = service["metadata"], service["spec"]
            if not spec.get("selector"):
                continue  # only Services whose endpoints the controller manages
            address = self.address_for(meta["namespace"], meta["name"])
            for port in spec.get("ports", []):
                if (address, port["port"]) not in self._listeners:
                    self._listen(address, port["port"], (meta["namespace"], meta["name"], port.get("name", "")))
        self._write_hosts()

    def endpoints(self):
        """(namespace, service, port name) -> [(pod address, port)] of ready pods."""
        return dict(self._endpoints)

    def stop(self):
        for server in self._listeners.values():
            server.shutdown()
            server.server_close()

    def _write_hosts(self):
        lines = ["127.0.0.1 localhost"]
        for (namespace, name), address in sorted(self._addresses.items()):
            lines.append(f"{address} {name}.{namespace}.svc.cluster.local {name}.{namespace}.svc {name}.{namespace} {name}")
        text = "\n".join(lines) + "\n"
        # Written in place: every pod bind-mounts this very file (inode) over its /etc/hosts.
        if self.hosts_file.read_text() != text:
            with self.hosts_file.open("r+") as handle:
                handle.write(text)
                handle.truncate()

    def _pick(self, key):
        choices = self._endpoints.get(key) or []
        return choices[next(self._turn) % len(choices)] if choices else None

    def _listen(self, address, port, key):
        proxy = self

        class Forward(socketserver.BaseRequestHandler):
            def handle(self):
                target = proxy._pick(key)
                if target is None:
                    return  # no ready endpoint: the connection is closed, as kube-proxy rejects it
                try:
                    upstream = socket.create_connection(target, timeout=10)
                except OSError:
                    return
                upstream.settimeout(None)
                pump = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
                pump.start()
                _pump(self.request, upstream)
                pump.join()

        server = _Server((address, port), Forward)
        threading.Thread(target=server.serve_forever, daemon=True, name=f"svc-{key[1]}-{port}").start()
        self._listeners[(address, port)] = server


def _container_port(pod, target):
    if isinstance(target, int) or str(target).isdigit():
        return int(target)
    for container in pod["spec"]["containers"]:
        for port in container.get("ports", []):
            if port.get("name") == target:
                return port["containerPort"]
    return None


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
