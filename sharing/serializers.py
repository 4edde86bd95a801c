from django.urls import reverse
from rest_framework import serializers

from sharing.models import (
    Grant, LiveShare, NotebookCopy, NotebookVersion, Role, SecretLink, SharedNotebook, Snapshot, VersionFile,
)


class PublishInput(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**62, help_text="The id of your running workspace.")
    path = serializers.CharField(max_length=500, help_text="The notebook, relative to the workspace's home.")
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    attachments = serializers.ListField(
        child=serializers.CharField(max_length=400), required=False, default=list, max_length=1000,
        help_text="Small files to publish with the notebook (data, helper modules), relative to the notebook's folder; "
                  "a copy writes them next to it.")


class VersionFileOutput(serializers.ModelSerializer):
    class Meta:
        model = VersionFile
        fields = ["path", "size", "sha256"]


class VersionOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author_username")
    files = VersionFileOutput(many=True, read_only=True)

    class Meta:
        model = NotebookVersion
        fields = ["number", "author", "message", "created", "size", "sha256", "workspace_name", "files"]


class NotebookOutput(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(read_only=True, slug_field="username")
    latest_version = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = SharedNotebook
        fields = ["id", "title", "path", "owner", "everyone_role", "created", "latest_version", "url"]

    def get_latest_version(self, notebook) -> int | None:
        version = notebook.versions.order_by("-number").first()
        return version.number if version else None

    def get_url(self, notebook) -> str:
        return reverse("sharing_notebook", args=[notebook.pk])


class NotebookUpdateInput(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    everyone_role = serializers.ChoiceField(choices=["", *Role.values], required=False,
                                            help_text="Share with everyone on the platform in this role; empty: stop.")


class SnapshotOutput(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Snapshot
        fields = ["id", "notebook", "state", "error", "message", "attachments", "version", "created", "finished"]


class GrantInput(serializers.Serializer):
    username = serializers.CharField(max_length=150, required=False, allow_blank=True)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="A team's slug.")
    role = serializers.ChoiceField(choices=Role.values, default=Role.VIEW)


class GrantChangeInput(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.values)


class GrantOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True, allow_null=True, default=None)
    team = serializers.CharField(source="team.slug", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Grant
        fields = ["id", "username", "team", "role", "created"]


class ShareLinkInput(serializers.Serializer):
    expires_in_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True, default=None)


class ShareLinkOutput(serializers.ModelSerializer):
    class Meta:
        model = SecretLink
        fields = ["id", "expires", "revoked", "created"]


class ShareLinkCreatedOutput(ShareLinkOutput):
    url = serializers.CharField(read_only=True, help_text="Shown once: only a hash of its token is kept.")

    class Meta(ShareLinkOutput.Meta):
        fields = [*ShareLinkOutput.Meta.fields, "url"]


class CopyInput(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**62, help_text="The id of your running workspace.")
    version = serializers.IntegerField(min_value=1, max_value=2**31, required=False, allow_null=True, default=None,
                                       help_text="Default: the latest.")


class CopyOutput(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number", read_only=True)
    lab_url = serializers.SerializerMethodField()

    class Meta:
        model = NotebookCopy
        fields = ["id", "version", "workspace", "state", "path", "error", "lab_url", "created"]

    def get_lab_url(self, copy) -> str:
        return f"{copy.workspace.lab_url}/tree/{copy.path}" if copy.path else ""


class CellChangeOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["added", "removed", "changed"])
    index = serializers.IntegerField()
    before = serializers.CharField()
    after = serializers.CharField()
    lines = serializers.ListField(child=serializers.CharField())
    outputs_changed = serializers.BooleanField()


class DiffOutput(serializers.Serializer):
    base = serializers.IntegerField()
    remote = serializers.IntegerField()
    cells = CellChangeOutput(many=True)


class FileOutput(serializers.Serializer):
    name = serializers.CharField()
    path = serializers.CharField()
    type = serializers.ChoiceField(choices=["directory", "notebook"])
    size = serializers.IntegerField(allow_null=True)


class LiveShareInput(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**62)
    username = serializers.CharField(max_length=150, required=False, allow_blank=True)
    team = serializers.CharField(max_length=100, required=False, allow_blank=True)
    expires = serializers.DateTimeField(required=False, allow_null=True, default=None)


class LiveShareOutput(serializers.ModelSerializer):
    workspace_name = serializers.CharField(source="workspace.name", read_only=True)
    owner = serializers.CharField(source="workspace.owner.username", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)
    lab_url = serializers.CharField(source="workspace.lab_url", read_only=True)

    class Meta:
        model = LiveShare
        fields = ["id", "workspace", "workspace_name", "owner", "username", "expires", "created", "lab_url"]


class SharedWithMeOutput(serializers.Serializer):
    notebooks = NotebookOutput(many=True)
    workspaces = LiveShareOutput(many=True)
