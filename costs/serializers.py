from rest_framework import serializers

from costs.models import Budget, BudgetGrant, PriceSheet
from costs.selectors import GROUP_BY_CHOICES


class PriceSheetOutput(serializers.ModelSerializer):
    class Meta:
        model = PriceSheet
        fields = ["id", "effective_from", "currency", "cpu_core_hour", "memory_gib_hour", "gpu_hour", "storage_gib_month",
                  "note", "created", "created_by"]


class PriceSheetInput(serializers.Serializer):
    # Ranges are checked by the service, which names the field at fault.
    cpu_core_hour = serializers.IntegerField(help_text="Minor units (e.g. cents) per CPU core-hour.")
    memory_gib_hour = serializers.IntegerField(help_text="Minor units per GiB of memory per hour.")
    storage_gib_month = serializers.IntegerField(help_text="Minor units per GiB of disk per month (730 h).")
    gpu_hour = serializers.DictField(child=serializers.IntegerField(), required=False, default=dict,
                                     help_text='GPU type → minor units per GPU-hour; "" prices any other type.')
    currency = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)
    effective_from = serializers.DateTimeField(required=False, default=None, help_text="Default: now.")
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


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

    class Meta:
        model = BudgetGrant
        fields = ["id", "amount", "starts", "ends", "reason", "created_by", "created"]


class BudgetOutput(serializers.ModelSerializer):
    team = serializers.IntegerField(source="team_id")
    time_zone = serializers.CharField(source="team.time_zone")
    status = serializers.SerializerMethodField()
    grants = serializers.SerializerMethodField()

    class Meta:
        model = Budget
        fields = ["team", "amount", "currency", "thresholds", "action", "grace_minutes", "period_start_day", "time_zone",
                  "updated", "status", "grants"]

    def get_status(self, budget) -> BudgetStatusOutput:
        return BudgetStatusOutput(self.context["status"]).data

    def get_grants(self, budget) -> BudgetGrantOutput(many=True):
        return BudgetGrantOutput(self.context["grants"], many=True).data


class BudgetInput(serializers.Serializer):
    amount = serializers.IntegerField(help_text="Minor units per period (e.g. cents).")
    currency = serializers.CharField(required=False, allow_blank=True, default="", max_length=10)
    thresholds = serializers.ListField(child=serializers.IntegerField(), required=False, default=None, allow_null=True,
                                       help_text="Alert at these percentages; default [50, 80, 100].")
    action = serializers.CharField(required=False, default=Budget.Action.NOTIFY,
                                   help_text="At 100 %: notify, block_launches or stop_workspaces.")
    grace_minutes = serializers.IntegerField(required=False, default=60)
    period_start_day = serializers.IntegerField(required=False, default=1)
    time_zone = serializers.CharField(required=False, default=None, allow_null=True, help_text="IANA name; the team's zone.")


class BudgetGrantInput(serializers.Serializer):
    amount = serializers.IntegerField()
    starts = serializers.DateTimeField(required=False, default=None)
    ends = serializers.DateTimeField()
    reason = serializers.CharField(max_length=500)


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
