"""A small server-rendered SVG bar chart: sends, replies and bounces per day (no JavaScript)."""

from __future__ import annotations

from markupsafe import Markup

from fluenzr.services.dashboard import DayCounts
from fluenzr.web.render import environment, translator

HEIGHT = 170  # px; the width is the card's (x positions are percentages)
PAD_LEFT = 7.0  # % of the width, for the axis labels
PAD_BOTTOM = 24  # px, for the day labels
FONT_PX = 12  # labels stay readable at any width (never scaled with the drawing)
SERIES = (("sent", "#2563eb"), ("reply", "#16a34a"), ("bounce", "#dc2626"))


def chart(series: list[DayCounts], *, lang: str) -> Markup:
    """Bars placed in percent of the width, so the chart fills its card on any screen while
    its text keeps a fixed pixel size."""
    top = max([max(d.sent, d.reply, d.bounce) for d in series] + [1])
    plot_w = 100.0 - PAD_LEFT - 1.0
    plot_h = HEIGHT - PAD_BOTTOM - 10
    slot = plot_w / max(len(series), 1)
    bar = slot / 4
    bars = []
    for i, day in enumerate(series):
        for j, (name, colour) in enumerate(SERIES):
            value = getattr(day, name)
            height = plot_h * value / top
            bars.append(
                {
                    "x": round(PAD_LEFT + i * slot + bar * (j + 0.5), 2),
                    "y": round(10 + plot_h - height, 1),
                    "w": round(bar, 2),
                    "h": round(height, 1),
                    "colour": colour,
                    "title": f"{day.day.isoformat()}: {value}",
                    "name": name,
                }
            )
    labels = [
        {"x": round(PAD_LEFT + i * slot + slot / 2, 2), "text": day.day.strftime("%d/%m")}
        for i, day in enumerate(series)
        if i % 2 == 0
    ]
    template = environment().get_template("chart.svg")
    return Markup(  # noqa: S704  (rendered by an autoescaping template)
        template.render(
            height=HEIGHT,
            top=top,
            bars=bars,
            labels=labels,
            series=SERIES,
            baseline=10 + plot_h,
            left=PAD_LEFT,
            font=FONT_PX,
            t=translator(lang),
        )
    )
