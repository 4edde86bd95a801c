from rest_framework import serializers

from portal.accounts.models import Team
from portal.accounts.serializers import VisibleTeamField

from images.models import SEVERITIES, Finding, ImageTag, Manifest, PackageRecord, RobotAccount, ScanException, ScanPolicy
from images.selectors import key_packages, pinned_reference


def scan_summary(manifest):
    """{"scanned": bool, "counts": {severity: n}, "report_id", "created"} for a digest's latest report."""
    report = manifest.latest_report if manifest is not None else None
    if report is None:
        return {"scanned": False, "counts": {}, "report_id": None, "created": None}
    # jsonb does not keep key order: worst first, for people.
    counts = {severity: report.counts.get(severity, 0) for severity in reversed(SEVERITIES)}
    return {"scanned": True, "counts": counts, "report_id": report.pk, "created": report.created.isoformat()}


class ImageOutput(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True)
    repository = serializers.CharField(source="repository.name")
    namespace = serializers.CharField(source="repository.namespace")
    digest = serializers.SerializerMethodField()
    pinned_reference = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    description = serializers.SerializerMethodField()
    source = serializers.SerializerMethodField()
    revision = serializers.SerializerMethodField()
    size_bytes = serializers.SerializerMethodField()
    python_version = serializers.SerializerMethodField()
    key_packages = serializers.SerializerMethodField()
    replacement = serializers.SerializerMethodField()
    teams = serializers.SlugRelatedField(many=True, read_only=True, slug_field="slug")
    scan = serializers.SerializerMethodField()

    class Meta:
        model = ImageTag
        fields = ["id", "reference", "repository", "namespace", "tag", "kind", "status", "managed", "digest",
                  "pinned_reference", "title", "description", "source", "revision", "size_bytes", "python_version",
                  "key_packages", "recommended", "all_teams", "teams", "replacement", "deprecation_message", "digest_changed",
                  "previous_digest", "present", "python", "scan", "created", "updated"]

    def _manifest(self, entry, attribute, default=""):
        return getattr(entry.manifest, attribute) if entry.manifest_id else default

    def get_digest(self, entry) -> str:
        return self._manifest(entry, "digest")

    def get_pinned_reference(self, entry) -> str | None:
        return pinned_reference(entry) if entry.kind == ImageTag.Kind.LOCAL or entry.manifest_id else None

    def get_title(self, entry) -> str:
        return self._manifest(entry, "title")

    def get_description(self, entry) -> str:
        return self._manifest(entry, "description")

    def get_source(self, entry) -> str:
        return self._manifest(entry, "source")

    def get_revision(self, entry) -> str:
        return self._manifest(entry, "revision")

    def get_size_bytes(self, entry) -> int:
        return self._manifest(entry, "size_bytes", 0)

    def get_python_version(self, entry) -> str:
        return self._manifest(entry, "python_version")

    def get_key_packages(self, entry) -> dict:
        """Versions of well-known libraries in the image (from its SBOM)."""
        return dict(key_packages(entry.manifest)) if entry.manifest_id else {}

    def get_replacement(self, entry) -> str | None:
        return entry.replacement.reference if entry.replacement_id else None

    def get_scan(self, entry) -> dict:
        return scan_summary(entry.manifest if entry.manifest_id else None)


class ManifestOutput(serializers.ModelSerializer):
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="tag")
    scan = serializers.SerializerMethodField()

    class Meta:
        model = Manifest
        fields = ["digest", "media_type", "size_bytes", "title", "revision", "image_created", "python_version", "tags",
                  "first_seen", "scan"]

    def get_scan(self, manifest) -> dict:
        return scan_summary(manifest)


class PackageOutput(serializers.ModelSerializer):
    class Meta:
        model = PackageRecord
        fields = ["name", "version", "type"]


class FindingOutput(serializers.ModelSerializer):
    class Meta:
        model = Finding
        fields = ["vulnerability_id", "package", "installed_version", "fixed_version", "severity", "title"]


class ApproveInput(serializers.Serializer):
    all_teams = serializers.BooleanField(default=True)
    teams = VisibleTeamField(many=True, required=False, default=list)
    recommended = serializers.BooleanField(default=False)

    def validate(self, data):
        if not data["all_teams"] and not data["teams"]:
            raise serializers.ValidationError({"teams": "Name the teams, or approve it for all teams."})
        return data


class DeprecateInput(serializers.Serializer):
    replacement = serializers.CharField(required=False, allow_blank=True, default="",
                                        help_text="The entry launches are redirected to: its id or reference.")
    message = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


class LocalEnvironmentInput(serializers.Serializer):
    name = serializers.CharField(max_length=63)
    python = serializers.CharField(max_length=500, allow_blank=True, help_text="Absolute path; empty: the platform's own Python.")
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class ArtifactInput(serializers.Serializer):
    digest = serializers.RegexField(r"^sha256:[0-9a-f]{64}$", help_text="The image's manifest digest.")
    repository = serializers.CharField(required=False, allow_blank=True, default="",
                                       help_text="Needed only when the same digest is in several repositories.")


class ReportInput(ArtifactInput):
    report = serializers.JSONField(help_text="A Trivy JSON report (trivy image --format json).")


class SbomInput(ArtifactInput):
    sbom = serializers.JSONField(help_text="An SPDX 2.x JSON or CycloneDX JSON document.")


class ReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    digest = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    new_findings = serializers.ListField(child=serializers.CharField())


class SbomOutput(serializers.Serializer):
    digest = serializers.CharField()
    format = serializers.CharField()
    packages = serializers.IntegerField()
    python_version = serializers.CharField()


class PolicySerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True,
                                        help_text="null: the platform's policy.")
    block_threshold = serializers.ChoiceField(choices=[s for s in SEVERITIES if s != "UNKNOWN"] + [""])
    updated = serializers.DateTimeField(read_only=True, allow_null=True, help_text="null: never set (the default applies).")

    class Meta:
        model = ScanPolicy
        fields = ["team", "block_threshold", "allow_unscanned", "updated"]


class ExceptionSerializer(serializers.ModelSerializer):
    repository = serializers.CharField(source="repository.name", required=False, allow_null=True, default=None)
    team = serializers.SlugRelatedField(slug_field="slug", queryset=Team.objects.all(), required=False, allow_null=True, default=None)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default="")
    active = serializers.BooleanField(read_only=True)
    vulnerability_id = serializers.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,79}$")

    class Meta:
        model = ScanException
        fields = ["id", "vulnerability_id", "repository", "team", "justification", "expires", "active", "created_by",
                  "created", "revoked"]
        read_only_fields = ["created", "revoked"]


class RobotOutput(serializers.ModelSerializer):
    username = serializers.CharField(read_only=True)
    usable = serializers.BooleanField(read_only=True)
    created_by = serializers.CharField(source="created_by.username", read_only=True, default="")

    class Meta:
        model = RobotAccount
        fields = ["id", "name", "username", "description", "scopes", "expires", "revoked", "last_used", "usable",
                  "created_by", "created"]


class RobotInput(serializers.Serializer):
    name = serializers.CharField(max_length=60)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)
    scopes = serializers.JSONField(help_text='[{"repository": "platform/python*", "actions": ["push", "pull"]}]')
    days = serializers.IntegerField(min_value=1, default=90)


class RobotCreatedOutput(RobotOutput):
    secret = serializers.CharField(read_only=True, help_text="Shown once: store it in your CI's secrets now.")

    class Meta(RobotOutput.Meta):
        fields = RobotOutput.Meta.fields + ["secret"]
