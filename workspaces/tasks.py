from celery import shared_task

from workspaces.reconciler import workspace_reconcile, workspace_reconcile_all


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


@shared_task(ignore_result=True)
def workspace_cull_sweep_task():
    """Idle culling, run by beat: warn about and stop idle or too-old workspaces. Idempotent."""
    from workspaces.culling_services import workspace_cull_sweep

    result = workspace_cull_sweep()
    return {"warned": result.warned, "culled": result.culled, "errors": result.errors, "skipped": result.skipped}


@shared_task(ignore_result=True, autoretry_for=(OSError,), retry_backoff=30, retry_backoff_max=900, max_retries=8)
def workspace_cull_warning_mail_task(workspace_id, warned_at):
    """E-mail one culling warning; sent at most once per warning, retried while the mail server is away."""
    from django.utils.dateparse import parse_datetime

    from workspaces.culling_services import workspace_cull_warning_mail

    when = parse_datetime(warned_at) if isinstance(warned_at, str) else None
    if not isinstance(workspace_id, int) or when is None:
        return False
    return workspace_cull_warning_mail(workspace_id=workspace_id, warned_at=when)


@shared_task(ignore_result=True, acks_late=True)
def workspace_project_files_task(workspace_id, template, project_id, waited=0):
    """Write a project's template files into a workspace once it runs; re-queues itself while it starts."""
    from workspaces.project_files import MAX_WAITS, project_files_write

    if not isinstance(workspace_id, int) or not isinstance(project_id, int) or waited > MAX_WAITS:
        return
    delay = project_files_write(workspace_id=workspace_id, template=str(template or ""), project_id=project_id)
    if delay is not None:
        workspace_project_files_task.apply_async((workspace_id, template, project_id, waited + 1), countdown=delay)
