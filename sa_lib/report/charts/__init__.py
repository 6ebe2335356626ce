"""Charts for the assessment, each returned with its alt text (see :mod:`.heatmap`)."""

from sa_lib.report.charts.heatmap import (
    SERIES_COLOURS,
    SPC_COLOURS,
    Chart,
    bar_chart,
    funnel_chart,
    line_chart,
    morile_heatmap,
    priority_matrix_chart,
    spc_chart,
)

__all__ = [
    "Chart",
    "spc_chart",
    "funnel_chart",
    "morile_heatmap",
    "bar_chart",
    "priority_matrix_chart",
    "line_chart",
    "SPC_COLOURS",
    "SERIES_COLOURS",
]
