from django import forms

from costs.models import Budget


class PriceSheetForm(forms.Form):
    cpu_core_hour = forms.IntegerField(min_value=0, label="CPU core-hour", help_text="Minor units (e.g. cents).")
    memory_gib_hour = forms.IntegerField(min_value=0, label="GiB of memory per hour")
    gpu_hour_default = forms.IntegerField(min_value=0, initial=0, label="GPU-hour (any type)")
    gpu_hour_by_type = forms.CharField(required=False, label="GPU-hour by type",
                                       help_text="One per line: type=price, e.g. h100=350.",
                                       widget=forms.Textarea(attrs={"rows": 3}))
    storage_gib_month = forms.IntegerField(min_value=0, label="GiB of disk per month")
    effective_from = forms.DateTimeField(required=False, help_text="UTC, e.g. 2026-12-01 00:00; empty means now.")
    note = forms.CharField(required=False, max_length=200)

    def clean_gpu_hour_by_type(self):
        prices = {}
        for line in self.cleaned_data["gpu_hour_by_type"].splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip() or not value.strip().isdigit():
                raise forms.ValidationError(f"Write each line as type=price (whole minor units): {line.strip()!r}.")
            prices[name.strip()] = int(value)
        return prices


class BudgetForm(forms.Form):
    amount = forms.IntegerField(help_text="Minor units per period (e.g. cents).")
    thresholds = forms.CharField(initial="50, 80, 100", help_text="Alert at these percentages.")
    action = forms.ChoiceField(choices=Budget.Action.choices, help_text="What happens at 100 %.")
    grace_minutes = forms.IntegerField(initial=60, help_text="stop_workspaces: minutes between the warning and the stop.")
    period_start_day = forms.IntegerField(initial=1, help_text="Day of the month the period starts (1–28).")
    time_zone = forms.CharField(initial="UTC", help_text="The team's time zone (IANA), e.g. Europe/Berlin.")

    def clean_thresholds(self):
        try:
            return [int(part) for part in self.cleaned_data["thresholds"].replace(";", ",").split(",") if part.strip()]
        except ValueError:
            raise forms.ValidationError("Give whole percentages separated by commas, e.g. 50, 80, 100.") from None


class GrantForm(forms.Form):
    amount = forms.IntegerField(help_text="Minor units added to the limit.")
    ends = forms.DateTimeField(help_text="UTC, e.g. 2026-12-01 00:00.")
    reason = forms.CharField(max_length=500)
