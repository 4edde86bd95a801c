from datetime import datetime, timezone

from costs.charts import bar_chart, spend_chart

UTC = timezone.utc


def test_spend_line_is_cumulative_and_flat_on_days_without_spend():
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    chart = spend_chart(days=[(datetime(2026, 11, 2, tzinfo=UTC), 100), (datetime(2026, 11, 4, tzinfo=UTC), 50)],
                        period_start=start, period_end=end, limit=300, forecast=450, today=datetime(2026, 11, 5, 12, tzinfo=UTC))
    heights = [float(point.split(",")[1]) for point in chart["spend"].split()]
    assert heights == sorted(heights, reverse=True)  # never goes down (y grows downwards)
    assert len(heights) == 1 + 5  # the origin, the ends of November 1st to 4th, and now (the 5th, 12:00)
    assert heights[1] == heights[0] and heights[2] < heights[1] and heights[3] == heights[2]
    assert chart["forecast"]["y2"] < chart["budget_y"]  # the forecast ends above the budget line


def test_bars_keep_the_biggest_and_sum_the_rest():
    groups = [{"label": f"u{i}", "cost": 100 - i, "hours": 1} for i in range(12)]
    chart = bar_chart(groups, limit=10)
    assert len(chart["bars"]) == 11 and chart["bars"][-1]["label"] == "2 others" and chart["bars"][-1]["cost"] == 90 + 89
    assert max(bar["width"] for bar in chart["bars"]) == chart["bars"][-1]["width"] == 360
