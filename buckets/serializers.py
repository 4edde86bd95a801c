"""API shapes. Secrets appear in one output only (CredentialsRevealOutput), returned once to their owner."""

from rest_framework import serializers

from buckets.models import Bucket


class BucketOutput(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, allow_null=True)
    team = serializers.CharField(source="team.slug", default=None, allow_null=True)
    team_id = serializers.IntegerField(default=None, allow_null=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Bucket
        fields = ["id", "name", "kind", "owner", "team", "team_id", "primary", "state", "state_reason", "quota_bytes",
                  "over_quota", "size_bytes", "object_count", "sampled_at", "url", "created"]

    def get_url(self, bucket) -> str:
        return f"s3://{bucket.name}/"


class TeamBucketInput(serializers.Serializer):
    name = serializers.CharField(max_length=100, help_text="The part after <prefix>-t-<team>-: 1-20 of a-z, 0-9 and -.")
    quota_bytes = serializers.JSONField(required=False, allow_null=True, help_text="Bytes, or null for no quota.")


class QuotaInput(serializers.Serializer):
    quota_bytes = serializers.JSONField(allow_null=True, help_text="Bytes (at least 1048576), or null for no quota.")


class ObjectOutput(serializers.Serializer):
    key = serializers.CharField()
    size = serializers.IntegerField()
    last_modified = serializers.DateTimeField()


class ListingOutput(serializers.Serializer):
    prefix = serializers.CharField()
    prefixes = serializers.ListField(child=serializers.CharField())
    objects = ObjectOutput(many=True)
    next_token = serializers.CharField()


class LinkInput(serializers.Serializer):
    key = serializers.CharField(max_length=1024)


class LinkOutput(serializers.Serializer):
    url = serializers.URLField()
    method = serializers.CharField()
    expires_in = serializers.IntegerField()


class CredentialsOutput(serializers.Serializer):
    state = serializers.CharField()
    state_reason = serializers.CharField()
    access_key_id = serializers.CharField(allow_null=True)
    key_created = serializers.DateTimeField(allow_null=True)
    secret_shown = serializers.BooleanField()
    rotation_requested = serializers.BooleanField()
    endpoint_url = serializers.CharField()
    region = serializers.CharField()
    buckets = serializers.ListField(child=serializers.CharField())


class CredentialsRevealOutput(serializers.Serializer):
    access_key_id = serializers.CharField()
    secret_access_key = serializers.CharField()
    endpoint_url = serializers.CharField()
    region = serializers.CharField()
