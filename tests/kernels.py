"""Running code in a real workspace: start a kernel on its single-user server and execute over the
kernel's websocket (Jupyter's messaging protocol), as a notebook in the browser does."""

import asyncio
import json
import time
import uuid

import requests


def run_in_kernel(base, token, code, timeout=60):
    """Start a python3 kernel on the server at `base` (…/user/<name>/<server>) and run `code`.

    Answers (outcome, stdout): outcome is the execute reply's status ("ok", "error"), or "restarting",
    "dead", "closed" or "timeout" when the kernel did not answer; stdout is what the code printed."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    headers = {"Authorization": f"token {token}"}
    kernel = requests.post(f"{base}/api/kernels", json={"name": "python3"}, headers=headers, timeout=60)
    kernel.raise_for_status()
    kernel_id = kernel.json()["id"]

    async def execute():
        url = f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels"
        connection = await websocket_connect(HTTPRequest(url, headers=headers))
        msg_id = uuid.uuid4().hex
        message = {"header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                              "msg_type": "execute_request", "version": "5.3"},
                   "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                   "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                               "allow_stdin": False, "stop_on_error": True}}
        await connection.write_message(json.dumps(message))
        output = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = await asyncio.wait_for(connection.read_message(), timeout)
            if reply is None:
                return "closed", "".join(output)
            reply = json.loads(reply)
            if reply.get("parent_header", {}).get("msg_id") not in (None, msg_id):
                continue
            kind = reply.get("msg_type")
            if kind == "stream" and reply["content"].get("name") == "stdout":
                output.append(reply["content"]["text"])
            elif kind == "error":
                output.append("\n".join(reply["content"].get("traceback", [])))
            elif kind == "status" and reply["content"].get("execution_state") in ("restarting", "dead"):
                return reply["content"]["execution_state"], "".join(output)
            elif kind == "execute_reply":
                # The reply can come before the last output on the other channel: drain what is there.
                try:
                    while True:
                        late = await asyncio.wait_for(connection.read_message(), 0.5)
                        late = json.loads(late) if late else {}
                        if late.get("msg_type") == "stream" and late["content"].get("name") == "stdout":
                            output.append(late["content"]["text"])
                        if late.get("msg_type") == "status" and late["content"].get("execution_state") == "idle":
                            break
                except asyncio.TimeoutError:
                    pass
                return reply["content"]["status"], "".join(output)
        return "timeout", "".join(output)

    return asyncio.run(execute())
