"""A kernel warmed while JupyterLab loads, handed to the first notebook that asks for one.

Starting an ipykernel costs seconds (a new Python, its imports, the ZeroMQ handshake), and a person who just
opened JupyterLab usually opens a notebook next. When the lab page is served, this server extension starts one
kernel of the default kind in the server's root folder; the first request for a new kernel of that kind and
folder gets it (already idle, or still starting: either way the wait so far counts), later ones start their
own as usual. One spare per server run, never replenished, so a workspace costs at most one kernel more, and
only once someone opened its lab (an idle workspace nobody looks at has none). A spare nobody claims is shut
down after `WarmKernelManager.spare_unclaimed_seconds`. Until claimed it is left out of the kernel list
(`/api/kernels`): not in the lab's "Running" panel, and not activity for the platform's idle culling.

The difference from a kernel started for the notebook: its environment lacks `JPY_SESSION_NAME` (the
notebook's path, which jupyter_server passes to kernels it starts for a session).

Loaded by jupyter_server_config.py next to it, in local workspaces and in image workspaces alike; it uses only
jupyter_server's public kernel-manager API.
"""

import asyncio
import re
import uuid

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float

# The lab page itself (/lab, /lab/tree/…, /lab/workspaces/…), under any base URL; not its API or static files.
LAB_PAGE = re.compile(r"/lab(/(tree|workspaces)(/.*)?)?/?$")


class WarmKernelManager(AsyncMappingKernelManager):
    spare_unclaimed_seconds = Float(120.0, config=True,
                                    help="Shut the warmed kernel down when no notebook claimed it this long.")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._spare = None  # a task giving the spare's kernel id, until a notebook claims it
        self._spare_id = None  # chosen before it starts, so that it is hidden while it starts too; None once claimed
        self._spare_started = False

    def spare_start(self):
        """Warm one kernel (the first time the lab is served in this server run; later calls do nothing)."""
        if self._spare_started:
            return
        self._spare_started = True
        self._spare_id = str(uuid.uuid4())
        self._spare = asyncio.ensure_future(super().start_kernel(kernel_id=self._spare_id, path=""))
        self._spare.add_done_callback(self._spare_failed)
        asyncio.get_running_loop().call_later(self.spare_unclaimed_seconds, self._spare_expire)

    def _spare_failed(self, task):
        if not task.cancelled() and task.exception() is not None:
            self.log.warning("The warmed kernel did not start: %s", task.exception())
            if self._spare is task:
                self._spare = None

    def _spare_expire(self):
        task, self._spare = self._spare, None
        if task is not None:
            task.add_done_callback(self._spare_shut_down)  # at once, or when a slow start ends

    def _spare_shut_down(self, task):
        if not task.cancelled() and task.exception() is None and task.result() in self:
            self.log.info("Shutting the unclaimed warmed kernel down")
            asyncio.ensure_future(self.shutdown_kernel(task.result()))

    def _spare_claimable(self, kernel_id, path, kernel_name):
        return (self._spare is not None and kernel_id is None
                and (kernel_name or self.default_kernel_name) == self.default_kernel_name
                and self.cwd_for_path(path or "") == self.cwd_for_path(""))

    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        if self._spare_claimable(kernel_id, path, kwargs.get("kernel_name")):
            task, self._spare = self._spare, None
            try:
                claimed = await task
            except Exception:  # noqa: BLE001  (logged by _spare_failed; start one as usual)
                claimed = None
            if claimed is not None and claimed in self:
                self.log.info("Handing the warmed kernel %s to a notebook in %r", claimed, path)
                self._spare_id = None  # listed from now on, as the notebook's kernel
                return claimed
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    def list_kernels(self):
        # Unclaimed, it stays hidden until it is gone (an expired one is listed by the base class until its shutdown ends).
        return [kernel for kernel in super().list_kernels() if kernel["id"] != self._spare_id]


class _WarmOnLabPage:
    """A Tornado output transform, made for every request: the lab page's request starts the spare."""

    kernel_manager = None

    def __init__(self, request):
        manager = type(self).kernel_manager
        if manager is not None and request.method == "GET" and LAB_PAGE.search(request.path):
            manager.spare_start()

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        return status_code, headers, chunk

    def transform_chunk(self, chunk, finishing):
        return chunk


def _load_jupyter_server_extension(serverapp):
    if isinstance(serverapp.kernel_manager, WarmKernelManager):
        _WarmOnLabPage.kernel_manager = serverapp.kernel_manager
        serverapp.web_app.add_transform(_WarmOnLabPage)


def _jupyter_server_extension_points():
    return [{"module": "dsw_warm_kernel"}]
