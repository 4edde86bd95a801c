from celery import shared_task

from workspaces.services import workspace_reconcile, workspace_reconcile_all


@shared_task(ignore_result=True)
def workspace_reconcile_task(workspace_id):
    """One reconcile step; re-queues itself while the workspace is not settled. Safe to run twice."""
    if not isinstance(workspace_id, int):
        return
    delay = workspace_reconcile(workspace_id=workspace_id)
    if delay is not None:
        workspace_reconcile_task.apply_async((workspace_id,), countdown=delay)


@shared_task(ignore_result=True)
def workspace_reconcile_all_task():
    """Janitor, run by beat: nothing stays 'starting' forever, and dead servers are noticed."""
    return workspace_reconcile_all()
