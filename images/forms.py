from django import forms

from portal.accounts.models import Team

from images.models import SEVERITIES, ImageTag


class ApproveForm(forms.Form):
    all_teams = forms.BooleanField(required=False, initial=True, label="For all teams")
    teams = forms.ModelMultipleChoiceField(queryset=Team.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
                                           help_text="Only these teams, when not for all teams.")
    recommended = forms.BooleanField(required=False, label="Recommended (the launch form's default)")

    def clean(self):
        data = super().clean()
        if not data.get("all_teams") and not data.get("teams"):
            self.add_error("teams", "Pick the teams, or approve it for all teams.")
        return data


class DeprecateForm(forms.Form):
    replacement = forms.ModelChoiceField(queryset=ImageTag.objects.none(), required=False,
                                         help_text="Launches of this image are redirected to it.")
    message = forms.CharField(required=False, max_length=500, help_text="Shown in the launch form.")

    def __init__(self, *args, entry, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replacement"].queryset = (ImageTag.objects.filter(status=ImageTag.Status.APPROVED)
                                               .exclude(pk=entry.pk).select_related("repository"))
        self.fields["replacement"].label_from_instance = lambda e: e.reference


class LocalEnvironmentForm(forms.Form):
    name = forms.CharField(max_length=63, help_text="e.g. py312-gpu; people pick it as local:NAME.")
    python = forms.CharField(max_length=500, required=False, help_text="Absolute path to its python (with JupyterHub and JupyterLab installed).")


class RobotForm(forms.Form):
    name = forms.CharField(max_length=60, help_text="Lower-case; it signs in as robot$NAME.")
    description = forms.CharField(max_length=200, required=False)
    scopes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), initial="platform/*: push, pull",
                             help_text="One per line: REPOSITORY-PATTERN: ACTIONS (e.g. platform/python*: push, pull).")
    days = forms.IntegerField(min_value=1, initial=90, help_text="It expires after this many days.")

    def clean_scopes(self):
        scopes = []
        for line in self.cleaned_data["scopes"].splitlines():
            if not line.strip():
                continue
            pattern, _, actions = line.partition(":")
            scopes.append({"repository": pattern.strip(), "actions": [a.strip() for a in actions.split(",") if a.strip()] or ["pull", "push"]})
        return scopes


class PolicyForm(forms.Form):
    block_threshold = forms.ChoiceField(choices=[(s, f"{s.lower()} or worse") for s in reversed(SEVERITIES) if s != "UNKNOWN"]
                                        + [("", "never block on findings")], required=False, label="Block launches with findings at")
    allow_unscanned = forms.BooleanField(required=False, label="Allow unscanned images (personal images are always allowed)")


class ExceptionForm(forms.Form):
    vulnerability_id = forms.RegexField(r"^[A-Za-z0-9][A-Za-z0-9._:-]{2,79}$", label="CVE id", help_text="e.g. CVE-2026-12345")
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    expires = forms.DateTimeField(help_text="UTC, e.g. 2026-12-31 23:59", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    repository = forms.CharField(required=False, help_text="Only this repository (empty: all).")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, help_text="Only this team (empty: all).")


def launch_choice_label(choice):
    """A launch form option: the reference, its title and its badges (recommended, deprecated → replacement, blocked)."""
    from django.utils.html import format_html, format_html_join

    badges = []
    if choice.recommended:
        badges.append(("badge badge-active", "recommended"))
    if choice.deprecated:
        badges.append(("badge", f"deprecated → {choice.replacement.reference}" if choice.replacement else "deprecated"))
    for reason in choice.blocked:
        badges.append(("badge badge-revoked", f"blocked: {reason}"))
    title = choice.entry.manifest.title if choice.entry.manifest_id else ""
    return format_html("{}{} {}{}", choice.entry.reference, format_html(" — {}", title) if title else "",
                       format_html_join(" ", '<span class="{}">{}</span>', badges),
                       format_html(' <small class="muted">{}</small>', choice.message) if choice.deprecated and choice.message else "")
