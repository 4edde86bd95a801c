from django import template

from costs.currencies import format_money

register = template.Library()


@register.filter
def money(minor, currency):
    """{{ amount|money:currency }} -> "12.34 EUR"."""
    if minor is None:
        return ""
    return format_money(minor, currency)


@register.inclusion_tag("costs/_launch_budget.html")
def launch_budget(user):
    """Remaining budget of each of the user's teams, for the launch form."""
    from costs.selectors import remaining_for_user

    return {"budgets": remaining_for_user(user=user)}
