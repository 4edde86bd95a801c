from django.urls import reverse
from rest_framework import serializers

from builds.models import ImageBuild


class CustomBuildInput(serializers.Serializer):
    workspace = serializers.IntegerField(min_value=1, max_value=2**62, help_text="The id of your running workspace.")
    folder = serializers.CharField(max_length=400, required=False, allow_blank=True, default="",
                                   help_text="The folder (relative to the home) with requirements.txt or environment.yml "
                                             "and optionally postBuild; empty: the home itself.")
    base = serializers.CharField(max_length=400, help_text="A catalog image you may launch: reference, id or repo@digest.")
    name = serializers.CharField(max_length=60, help_text="The image's name: users/<you>/<name> (or teams/<team>/<name>).")
    team = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                 help_text="A team you administer: build into teams/<team>/<name> instead.")


class ProposeInput(serializers.Serializer):
    team = serializers.CharField(max_length=100, help_text="The team (slug) whose catalog the image is proposed to.")


class BuildOutput(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(read_only=True, slug_field="username")
    base = serializers.CharField(source="base_reference")
    reference = serializers.CharField(read_only=True)
    image = serializers.PrimaryKeyRelatedField(read_only=True, help_text="The catalog entry, once built.")
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImageBuild
        fields = ["id", "kind", "owner", "definition", "workspace_name", "folder", "base", "repository", "tag", "reference",
                  "state", "step", "error", "digest", "size_bytes", "image", "created", "started", "finished", "url"]

    def get_url(self, build) -> str:
        return reverse("build_detail", args=[build.pk])


class BuildLogOutput(serializers.Serializer):
    text = serializers.CharField(help_text="The log from `offset` on.")
    offset = serializers.IntegerField(help_text="Ask for the next lines from here.")
    state = serializers.CharField()
    step = serializers.CharField()
    error = serializers.CharField()
    done = serializers.BooleanField()
