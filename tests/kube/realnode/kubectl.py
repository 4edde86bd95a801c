"""What the real-node tests do with kubectl's help elsewhere: exec in a pod (through the API server and the kubelet)
and the Ready condition."""

import ssl
from urllib.parse import urlencode

import websocket

from tests.kube.cluster import ADMIN_TOKEN


def exec_in_pod(cluster, namespace, pod, command, container=None):
    """stdout of `kubectl exec` (the v4 channel protocol over a websocket)."""
    query = [("command", part) for part in command] + [("stdout", "true"), ("stderr", "true")]
    if container:
        query.append(("container", container))
    url = f"wss://{cluster.address}:{cluster.port}/api/v1/namespaces/{namespace}/pods/{pod}/exec?{urlencode(query)}"
    ws = websocket.create_connection(url, header=[f"Authorization: Bearer {ADMIN_TOKEN}"],
                                     subprotocols=["v4.channel.k8s.io"], sslopt={"cert_reqs": ssl.CERT_NONE},
                                     timeout=60)
    stdout = b""
    try:
        while True:
            frame = ws.recv()
            if isinstance(frame, str):
                frame = frame.encode()
            if frame and frame[0] == 1:
                stdout += frame[1:]
            elif frame and frame[0] == 3:      # status channel: the command finished
                break
    except websocket.WebSocketConnectionClosedException:
        pass
    finally:
        ws.close()
    return stdout.decode()


def ready(obj):
    """A Node or Pod (also an item of a list, which carries no kind) whose Ready condition is True; False for the
    Status object of a 404 (its `status` is a string)."""
    status = obj.get("status")
    return isinstance(status, dict) and any(
        c["type"] == "Ready" and c["status"] == "True" for c in status.get("conditions", []))
