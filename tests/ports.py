"""Free loopback ports for tests and benchmarks (no Django here: benchmarks import it too)."""

import random
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


def _ephemeral_range():
    try:
        low, high = open("/proc/sys/net/ipv4/ip_local_port_range").read().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port_block(size):
    """A base port whose next ``size`` ports are free (`platform_run` uses PORT … PORT+5).

    Chosen below the kernel's ephemeral range: a platform that restarts leaves its ports free for a
    moment, and an ephemeral port (any outgoing connection on this machine) must never take one."""
    low, _ = _ephemeral_range()
    for _ in range(200):
        base = random.randrange(10000, max(10001, low - size))
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
