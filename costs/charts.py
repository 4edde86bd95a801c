"""Geometry for the Costs page's plain SVG charts (no JavaScript, nothing from a CDN). Pure."""

from datetime import timedelta

WIDTH, HEIGHT, PAD = 640, 220, 36


def spend_chart(*, days, period_start, period_end, limit, forecast, today):
    """Cumulative spend per local day against the budget line, with a dashed forecast to the period's end.

    ``days``: [(date, minor units spent that day)], ascending. Returns coordinates for the template.
    """
    total_days = max((period_end - period_start).days, 1)
    top = max([limit, forecast, sum(cost for _, cost in days), 1])
    scale_y = (HEIGHT - 2 * PAD) / top

    def x(day_index):
        return round(PAD + (WIDTH - 2 * PAD) * day_index / total_days, 1)

    def y(amount):
        return round(HEIGHT - PAD - amount * scale_y, 1)

    # One point per local day boundary up to now, so days without spend stay flat.
    per_day = {(day - period_start).days: cost for day, cost in days}
    now_index = min(max((today - period_start).total_seconds() / 86400, 0), total_days)
    points, running = [(x(0), y(0))], 0
    for index in range(int(now_index) + 1):
        running += per_day.get(index, 0)
        points.append((x(min(index + 1, now_index)), y(running)))
    elapsed = now_index
    return {
        "width": WIDTH, "height": HEIGHT, "pad": PAD, "bottom": HEIGHT - PAD, "right": WIDTH - PAD,
        "spend": " ".join(f"{px},{py}" for px, py in points),
        "budget_y": y(limit), "forecast": {"x1": points[-1][0], "y1": points[-1][1], "x2": x(total_days), "y2": y(forecast)},
        "elapsed_x": x(elapsed), "top_label": top,
        "ticks": [{"x": x(i), "label": (period_start + timedelta(days=i)).strftime("%d")} for i in range(0, total_days + 1, 7)],
    }


def bar_chart(groups, *, limit=10):
    """Horizontal bars for the biggest groups; the rest summed into 'others'."""
    shown = list(groups[:limit])
    rest = groups[limit:]
    if rest:
        shown.append({"label": f"{len(rest)} others", "cost": sum(group["cost"] for group in rest), "hours": 0})
    top = max([group["cost"] for group in shown] + [1])
    row = 24
    bars = [{"label": group["label"], "cost": group["cost"], "y": i * row, "width": round(360 * group["cost"] / top, 1)}
            for i, group in enumerate(shown)]
    return {"bars": bars, "height": max(len(bars), 1) * row, "width": 640}
