from datetime import datetime

from django.conf import settings
from rest_framework import serializers

from costs.currencies import minor_to_major, parse_money
from costs.models import Budget, BudgetGrant, PriceSheet, ProjectBudget
from costs.selectors import GROUP_BY_CHOICES

# Money in the API: every amount a script sets can be given either as the integer field in minor
# units (as always: "amount": 125050) or as its "_decimal" twin, a string in currency units
# ("amount_decimal": "1250.50", the currency's own decimals). Outputs carry both.


def decimal_text(minor, currency=None):
    """125050 -> "1250.50" (EUR), 1250 -> "1250" (JPY)."""
    return str(minor_to_major(minor, currency or settings.PLATFORM_CURRENCY))


def money_from(attrs, field, *, required):
    """Take ``field`` (minor units) or ``field_decimal`` (currency units) out of ``attrs``: exactly one."""
    decimal_field = f"{field}_decimal"
    minor, text = attrs.pop(field, None), attrs.pop(decimal_field, None)
    if minor is not None and text is not None:
        raise serializers.ValidationError({decimal_field: f"Give {field} (minor units) or {decimal_field}, not both."})
    if text is not None:
        try:
            return parse_money(text, settings.PLATFORM_CURRENCY)
        except ValueError as exc:
            raise serializers.ValidationError({decimal_field: str(exc)}) from None
    if minor is None and required:
        raise serializers.ValidationError({field: f"Give {field} (minor units) or {decimal_field} (e.g. \"1250.50\")."})
    return minor


def _decimal_twin(field, help_text):
    return serializers.CharField(required=False, max_length=40,
                                 help_text=f"{help_text} in currency units, e.g. \"1250.50\"; instead of {field}.")


class PriceSheetOutput(serializers.ModelSerializer):
    cpu_core_hour_decimal = serializers.SerializerMethodField()
    memory_gib_hour_decimal = serializers.SerializerMethodField()
    storage_gib_month_decimal = serializers.SerializerMethodField()
    gpu_hour_decimal = serializers.SerializerMethodField()

    class Meta:
        model = PriceSheet
        fields = ["id", "effective_from", "currency", "cpu_core_hour", "memory_gib_hour", "gpu_hour", "storage_gib_month",
                  "cpu_core_hour_decimal", "memory_gib_hour_decimal", "gpu_hour_decimal", "storage_gib_month_decimal",
                  "note", "created", "created_by"]

    def get_cpu_core_hour_decimal(self, sheet) -> str:
        return decimal_text(sheet.cpu_core_hour, sheet.currency)

    def get_memory_gib_hour_decimal(self, sheet) -> str:
        return decimal_text(sheet.memory_gib_hour, sheet.currency)

    def get_storage_gib_month_decimal(self, sheet) -> str:
        return decimal_text(sheet.storage_gib_month, sheet.currency)

    def get_gpu_hour_decimal(self, sheet) -> dict[str, str]:
        return {gpu_type: decimal_text(price, sheet.currency) for gpu_type, price in (sheet.gpu_hour or {}).items()}


class PriceSheetInput(serializers.Serializer):
    # Ranges are checked by the service, which names the field at fault.
    cpu_core_hour = serializers.IntegerField(required=False, help_text="Minor units (e.g. cents) per CPU core-hour.")
    memory_gib_hour = serializers.IntegerField(required=False, help_text="Minor units per GiB of memory per hour.")
    storage_gib_month = serializers.IntegerField(required=False, help_text="Minor units per GiB of disk per month (730 h).")
    gpu_hour = serializers.DictField(child=serializers.IntegerField(), required=False,
                                     help_text='GPU type → minor units per GPU-hour; "" prices any other type.')
    cpu_core_hour_decimal = _decimal_twin("cpu_core_hour", "Per CPU core-hour")
    memory_gib_hour_decimal = _decimal_twin("memory_gib_hour", "Per GiB of memory per hour")
    storage_gib_month_decimal = _decimal_twin("storage_gib_month", "Per GiB of disk per month")
    gpu_hour_decimal = serializers.DictField(child=serializers.CharField(max_length=40), required=False,
                                             help_text='GPU type → price per GPU-hour in currency units ("3.50"); instead of gpu_hour.')
    currency = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)
    effective_from = serializers.DateTimeField(required=False, default=None, help_text="Default: now.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)

    def validate(self, attrs):
        for field in ("cpu_core_hour", "memory_gib_hour", "storage_gib_month"):
            attrs[field] = money_from(attrs, field, required=True)
        if "gpu_hour" in attrs and "gpu_hour_decimal" in attrs:
            raise serializers.ValidationError({"gpu_hour_decimal": "Give gpu_hour (minor units) or gpu_hour_decimal, not both."})
        if "gpu_hour_decimal" in attrs:
            prices = {}
            for gpu_type, text in attrs.pop("gpu_hour_decimal").items():
                try:
                    prices[gpu_type] = parse_money(text, settings.PLATFORM_CURRENCY)
                except ValueError as exc:
                    raise serializers.ValidationError({"gpu_hour_decimal": f"{gpu_type or '(any type)'}: {exc}"}) from None
            attrs["gpu_hour"] = prices
        attrs.setdefault("gpu_hour", {})
        return attrs


class BudgetStatusOutput(serializers.Serializer):
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()
    limit = serializers.IntegerField(help_text="Amount plus grants in force, minor units.")
    spent = serializers.IntegerField()
    remaining = serializers.IntegerField()
    forecast = serializers.IntegerField(help_text="Linear forecast of the spend at the end of the period.")
    percent = serializers.FloatField(allow_null=True)


class BudgetGrantOutput(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username", default="")
    amount_decimal = serializers.SerializerMethodField()

    class Meta:
        model = BudgetGrant
        fields = ["id", "amount", "amount_decimal", "starts", "ends", "reason", "created_by", "created"]

    def get_amount_decimal(self, grant) -> str:
        return decimal_text(grant.amount)


class BudgetOutput(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id")
    time_zone = serializers.CharField(source="team.time_zone")
    status = serializers.SerializerMethodField()
    grants = serializers.SerializerMethodField()
    amount_decimal = serializers.SerializerMethodField()
    stop_after = serializers.SerializerMethodField(
        help_text="stop_workspaces: when the team's running workspaces stop for being over budget; null when no stop is due.")

    class Meta:
        model = Budget
        fields = ["team", "amount", "amount_decimal", "currency", "thresholds", "action", "grace_minutes", "period_start_day",
                  "time_zone", "updated", "status", "stop_after", "grants"]

    def get_stop_after(self, budget) -> datetime | None:
        stop = self.context.get("stop")
        return serializers.DateTimeField().to_representation(stop.stop_after) if stop else None

    def get_amount_decimal(self, budget) -> str:
        return decimal_text(budget.amount, budget.currency)

    def get_status(self, budget) -> BudgetStatusOutput:
        return BudgetStatusOutput(self.context["status"]).data

    def get_grants(self, budget) -> BudgetGrantOutput(many=True):
        return BudgetGrantOutput(self.context["grants"], many=True).data


class BudgetInput(serializers.Serializer):
    amount = serializers.IntegerField(required=False, help_text="Minor units per period (e.g. cents).")
    amount_decimal = _decimal_twin("amount", "Per period")
    currency = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)
    thresholds = serializers.ListField(child=serializers.IntegerField(), required=False, default=None, allow_null=True,
                                       help_text="Alert at these percentages; default [50, 80, 100].")
    action = serializers.CharField(required=False, default=Budget.Action.NOTIFY,
                                   help_text="At 100 %: notify, block_launches or stop_workspaces.")
    grace_minutes = serializers.IntegerField(required=False, default=60)
    period_start_day = serializers.IntegerField(required=False, default=1)
    time_zone = serializers.CharField(required=False, default=None, allow_null=True, help_text="IANA name; the team's zone.")

    def validate(self, attrs):
        attrs["amount"] = money_from(attrs, "amount", required=True)
        return attrs


class ProjectBudgetOutput(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    amount_decimal = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()

    class Meta:
        model = ProjectBudget
        fields = ["project", "amount", "amount_decimal", "currency", "thresholds", "updated", "status"]

    def get_amount_decimal(self, budget) -> str:
        return decimal_text(budget.amount, budget.currency)

    def get_status(self, budget) -> BudgetStatusOutput:
        return BudgetStatusOutput(self.context["status"]).data


class ProjectBudgetInput(serializers.Serializer):
    amount = serializers.IntegerField(required=False, help_text="Minor units per period of the team's budget.")
    amount_decimal = _decimal_twin("amount", "Per period")
    thresholds = serializers.ListField(child=serializers.IntegerField(), required=False, default=None, allow_null=True,
                                       help_text="Alert at these percentages; default [50, 80, 100].")

    def validate(self, attrs):
        attrs["amount"] = money_from(attrs, "amount", required=True)
        return attrs


class BudgetGrantInput(serializers.Serializer):
    amount = serializers.IntegerField(required=False, help_text="Minor units added to the limit.")
    amount_decimal = _decimal_twin("amount", "Added to the limit")
    starts = serializers.DateTimeField(required=False, default=None)
    ends = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500)

    def validate(self, attrs):
        attrs["amount"] = money_from(attrs, "amount", required=True)
        return attrs


class CostGroupOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    cost = serializers.IntegerField(help_text="Minor units.")
    hours = serializers.FloatField()
    records = serializers.IntegerField()


class CostReportOutput(serializers.Serializer):
    team = serializers.IntegerField()
    currency = serializers.CharField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    group_by = serializers.CharField()
    total = serializers.IntegerField()
    groups = CostGroupOutput(many=True)


class CostReportQuery(serializers.Serializer):
    start = serializers.CharField(required=False, help_text="ISO date (midnight in the team's zone) or date-time; default: the period's start.")
    end = serializers.CharField(required=False, help_text="Exclusive; default: the period's end.")
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES, required=False, default="user")
