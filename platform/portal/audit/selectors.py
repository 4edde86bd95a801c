from portal.audit.models import AuditEvent


def audit_event_list(*, action=None, actor=None, target_type=None, target_id=None):
    events = AuditEvent.objects.all()
    if action:
        events = events.filter(action__startswith=action)
    if actor:
        events = events.filter(actor_username=actor)
    if target_type:
        events = events.filter(target_type=target_type)
    if target_id:
        events = events.filter(target_id=target_id)
    return events
