from rest_framework import serializers

from portal.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = [
            "id", "created", "actor_id", "actor_username", "action", "target_type",
            "target_id", "target_repr", "ip_address", "user_agent", "data",
        ]
