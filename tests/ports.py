"""Free loopback ports for tests and benchmarks (no Django here: benchmarks import it too)."""

import socket


def free_ports(count):
    """Distinct free ports, held open together while chosen so they cannot repeat."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port_block(size):
    """A base port whose next ``size`` ports are free (`platform_run` uses PORT … PORT+3)."""
    for _ in range(100):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size > 65535:
            continue
        try:
            sockets = [socket.create_server(("127.0.0.1", base + offset)) for offset in range(size)]
        except OSError:
            continue
        for sock in sockets:
            sock.close()
        return base
    raise RuntimeError("no block of free ports")
