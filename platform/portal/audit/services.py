from portal.audit.models import AuditEvent
from portal.ratelimit import client_address


def client_ip(request):
    """The client's address (see ``portal.ratelimit.client_address``: X-Forwarded-For counts only
    when a trusted proxy sent it), or None."""
    if request is None:
        return None
    return client_address(request) or None


def audit_record(*, action, actor=None, request=None, target=None, data=None):
    """Append one event to the audit log. Call it inside the transaction that makes the change."""
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        if request.user.is_authenticated:
            actor = request.user
    return AuditEvent.objects.create(
        action=action,
        actor_id=actor.pk if actor is not None else None,
        actor_username=actor.get_username() if actor is not None else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:255] if target is not None else "",
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:255],
        data=data or {},
    )
