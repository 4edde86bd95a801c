from django import forms
from django.conf import settings

from costs.currencies import format_amount, parse_money
from costs.models import Budget
from costs.services import MAX_MONEY


class MoneyField(forms.CharField):
    """An amount people type and read in the platform's currency ("1,250.50"); cleaned to minor units.
    The label says the currency, so nobody has to guess whether it wants cents."""

    def __init__(self, *args, label=None, max_amount=MAX_MONEY, **kwargs):
        super().__init__(*args, label=label, **kwargs)
        self.base_label = label
        self.max_amount = max_amount
        self._set_currency()

    def __deepcopy__(self, memo):
        # Fields are built once, at import; each form gets a copy, which is when the currency setting is read.
        copied = super().__deepcopy__(memo)
        copied._set_currency()
        return copied

    def _set_currency(self):
        self.currency = settings.PLATFORM_CURRENCY
        self.label = f"{self.base_label} ({self.currency})" if self.base_label else None

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            amount = parse_money(value, self.currency)
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from None
        if amount > self.max_amount:
            raise forms.ValidationError(f"That amount is too large: at most {format_amount(self.max_amount, self.currency)}.")
        return amount

    def prepare_value(self, value):
        return format_amount(value, self.currency) if isinstance(value, int) and not isinstance(value, bool) else value


class PriceSheetForm(forms.Form):
    cpu_core_hour = MoneyField(label="CPU core-hour", help_text="e.g. 0.10")
    memory_gib_hour = MoneyField(label="GiB of memory per hour", help_text="e.g. 0.05")
    gpu_hour_default = MoneyField(initial=0, required=False, label="GPU-hour (any type)")
    gpu_hour_by_type = forms.CharField(required=False, label="GPU-hour by type",
                                       help_text="One per line: type=price, e.g. h100=3.50.",
                                       widget=forms.Textarea(attrs={"rows": 3}))
    storage_gib_month = MoneyField(label="GiB of disk per month", help_text="e.g. 0.73")
    effective_from = forms.DateTimeField(required=False, help_text="UTC, e.g. 2026-12-01 00:00; empty means now.")
    note = forms.CharField(required=False, max_length=200)

    def clean_gpu_hour_by_type(self):
        prices = {}
        currency = settings.PLATFORM_CURRENCY
        for line in self.cleaned_data["gpu_hour_by_type"].splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise forms.ValidationError(f"Write each line as type=price in {currency}: {line.strip()!r}.")
            try:
                prices[name.strip()] = parse_money(value, currency)
            except ValueError as exc:
                raise forms.ValidationError(f"{name.strip()}: {exc}") from None
        return prices


class BudgetForm(forms.Form):
    amount = MoneyField(label="Amount", help_text="Per period, e.g. 1,250.00.")
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


class ProjectBudgetForm(forms.Form):
    amount = MoneyField(label="Amount", help_text="Per period of the team's budget, at most the team's amount.")
    thresholds = forms.CharField(initial="50, 80, 100", help_text="Alert at these percentages.")

    clean_thresholds = BudgetForm.clean_thresholds


class GrantForm(forms.Form):
    amount = MoneyField(label="Amount", help_text="Added to the limit until the grant ends, e.g. 100.00.")
    ends = forms.DateTimeField(help_text="UTC, e.g. 2026-12-01 00:00.")
    reason = forms.CharField(max_length=500)
