"""A small server-rendered SVG bar chart: sends, replies and bounces per day (no JavaScript)."""

from __future__ import annotations

from markupsafe import Markup

from fluenzr.services.dashboard import DayCounts
from fluenzr.web.render import environment, translator

WIDTH = 560
HEIGHT = 160
PAD_LEFT = 30
PAD_BOTTOM = 22
SERIES = (("sent", "#2563eb"), ("reply", "#16a34a"), ("bounce", "#dc2626"))


def chart(series: list[DayCounts], *, lang: str) -> Markup:
    top = max([max(d.sent, d.reply, d.bounce) for d in series] + [1])
    plot_w = WIDTH - PAD_LEFT - 4
    plot_h = HEIGHT - PAD_BOTTOM - 8
    slot = plot_w / max(len(series), 1)
    bar = max(slot / 4, 1.0)
    bars = []
    for i, day in enumerate(series):
        for j, (name, colour) in enumerate(SERIES):
            value = getattr(day, name)
            height = plot_h * value / top
            bars.append(
                {
                    "x": round(PAD_LEFT + i * slot + bar * (j + 0.5), 1),
                    "y": round(8 + plot_h - height, 1),
                    "w": round(bar, 1),
                    "h": round(height, 1),
                    "colour": colour,
                    "title": f"{day.day.isoformat()}: {value}",
                    "name": name,
                }
            )
    labels = [
        {"x": round(PAD_LEFT + i * slot + slot / 2, 1), "text": day.day.strftime("%d/%m")}
        for i, day in enumerate(series)
        if i % 2 == 0
    ]
    template = environment().get_template("chart.svg")
    return Markup(  # noqa: S704  (rendered by an autoescaping template)
        template.render(
            width=WIDTH,
            height=HEIGHT,
            top=top,
            bars=bars,
            labels=labels,
            series=SERIES,
            baseline=8 + plot_h,
            left=PAD_LEFT,
            t=translator(lang),
        )
    )
