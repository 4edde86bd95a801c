"""Publishing speed of a shared notebook, against `jupyter nbconvert --to html` on the same file, in one run.

    DATABASE_URL=postgres://… .venv/bin/python benchmarks/sharing.py [--cells 50] [--mib 5] [--views 50]

SeaweedFS holds the published notebooks (as with `make run`). A 5 MiB notebook of 50 cells, each with code and an image output (random bytes: nothing compresses), sits in a
bare `jupyter server` (the same server a workspace runs). Then, in a scratch PostgreSQL database:

* baseline: `python -m jupyter nbconvert --to html` on that file (a process, as people run it);
* publish: the platform's path from the API call to the rendered version being viewable: the publish service
  (path checks, the file's model read through the contents API), the snapshot (the 5 MiB read through the
  contents API, parse, nbconvert render with sanitising, content-addressed storage, the version row) and a GET
  of the rendered page. The hub's part (where the server is, a one-server token) is answered by a stand-in for
  the bare server; the contents API calls are the platform's own. The snapshot runs in this process (the
  Celery task is a thin wrapper; queueing adds milliseconds). Target ≤ 1.5×;
* views: the median time of the rendered version's page (stored, served as is) next to a static file of the same
  size served by Django's static view in the same process. Target ≤ 2×.
"""

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "platform")]


def notebook(cells, mib):
    import nbformat

    per_cell = mib * 2**20 // cells
    book = nbformat.v4.new_notebook()
    for index in range(cells):
        cell = nbformat.v4.new_code_cell(f"# step {index}\nfig = plot(frame.iloc[{index}])\nfig", id=f"c{index}",
                                         execution_count=index + 1)
        image = base64.b64encode(os.urandom(per_cell * 3 // 4)).decode("ascii")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": "<Figure>"})]
        book.cells.append(cell)
    return nbformat.writes(book).encode("utf-8")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--mib", type=int, default=5)
    parser.add_argument("--views", type=int, default=50)
    args = parser.parse_args()

    from benchmarks.costs import scratch_database
    from benchmarks.launch import bare_server, bare_server_stop, wait_ok
    from tests.buckets.seaweed import start_seaweed, stop_seaweed

    store = start_seaweed()  # the object store, as `make run` has one
    url, drop = scratch_database(os.environ["DATABASE_URL"])
    data_dir = tempfile.mkdtemp(prefix="dsw-bench-sharing-")
    os.environ.update(DATABASE_URL=url, PLATFORM_DATA_DIR=data_dir, PLATFORM_S3_ENDPOINT_URL=store.endpoint_url,
                      PLATFORM_S3_ADMIN_ACCESS_KEY=store.access_key_id, PLATFORM_S3_ADMIN_SECRET_KEY=store.secret,
                      DJANGO_SETTINGS_MODULE="portal.settings")
    import django

    django.setup()
    proc, status_url, headers = bare_server(sys.executable)
    try:
        wait_ok(status_url, headers=headers)
        run(args, status_url.rsplit("/api/status", 1)[0], headers["Authorization"].split()[1], data_dir)
    finally:
        bare_server_stop(proc)
        drop()
        stop_seaweed(store)


def run(args, server, token, data_dir):
    from django.core.management import call_command
    from django.test import RequestFactory
    from django.views.static import serve

    from portal.accounts.models import Membership, Team, User
    from sharing import services
    from sharing.views import version_render
    from workspaces.hub import HubClient, ServerState
    from workspaces.models import Profile, Workspace

    class BareServerHub(HubClient):
        """The hub's answers for one bare server; reading and writing files is HubClient's own code."""

        def server_state(self, user, server):
            return ServerState(exists=True, ready=True, url="/")

        def server_token(self, user, server, **kwargs):
            return "bench", token

        def token_revoke(self, user, token_id):
            pass

    call_command("migrate", verbosity=0)
    hub = BareServerHub("http://127.0.0.1:9/hub/api", "unused", servers_url=server)
    data = notebook(args.cells, args.mib)
    hub.server_contents_write("/", directories=[], files={"report.ipynb": data}, token=token)
    print(f"notebook: {args.cells} cells, {len(data) / 2**20:.1f} MiB")

    path = Path(data_dir) / "report.ipynb"
    path.write_bytes(data)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(path), "--output-dir", data_dir],
                   check=True, capture_output=True)
    baseline = time.perf_counter() - started

    team = Team.objects.create(name="Bench", slug="bench")
    user = User.objects.create_user(username="bench", email="bench@example.org", password=None)
    Membership.objects.create(team=team, user=user)
    profile = Profile.objects.create(name="Small", cpu="1", memory_bytes=2**30)
    workspace = Workspace.objects.create(owner=user, team=team, name="bench", profile=profile, image="local:default",
                                         desired_state="running", observed_state="running")
    factory = RequestFactory()
    started = time.perf_counter()
    snapshot = services.notebook_publish(actor=user, workspace_id=workspace.pk, path="report.ipynb", hub=hub)
    version = services.snapshot_take(snapshot_id=snapshot.pk, hub=hub)
    assert version is not None, type(snapshot).objects.get(pk=snapshot.pk).error
    request = factory.get("/render/")
    request.user = user
    page = version_render(request, pk=snapshot.notebook_id, number=version.number)
    assert page.status_code == 200, page.status_code
    publish = time.perf_counter() - started
    print(f"\n{'':<34}{'seconds':>9}{'ratio':>8}")
    print(f"{'jupyter nbconvert --to html':<34}{baseline:9.2f}{1:8.2f}")
    print(f"{'publish → viewable':<34}{publish:9.2f}{publish / baseline:8.2f}   (target ≤ 1.50)")

    html = b"".join(page)
    static = Path(data_dir) / "static.html"
    static.write_bytes(html)

    def timed(view):
        samples = []
        for _ in range(args.views):
            begun = time.perf_counter()
            response = view()
            body = b"".join(response) if response.streaming else response.content
            assert len(body) == len(html)
            samples.append(time.perf_counter() - begun)
        return statistics.median(samples)

    def rendered():
        request = factory.get("/render/")
        request.user = user
        return version_render(request, pk=snapshot.notebook_id, number=version.number)

    base_view = timed(lambda: serve(factory.get("/static.html"), "static.html", document_root=data_dir))
    view = timed(rendered)
    print(f"\nrendered page: {len(html) / 2**20:.1f} MiB, median of {args.views}")
    print(f"{'static file (django.views.static)':<34}{base_view * 1000:8.1f} ms{1:8.2f}")
    print(f"{'version page (stored rendering)':<34}{view * 1000:8.1f} ms{view / base_view:8.2f}   (target ≤ 2.00)")


if __name__ == "__main__":
    main()
