"""Charts for the assessment, each returned with its alt text.

Charts use matplotlib's object API (no pyplot state), so they are the same in a
notebook, under papermill and in tests, and the PNGs are byte-identical
between runs.  Every chart function returns a :class:`Chart`: the figure plus a
plain-English description for screen-reader users of the HTML report.

One chart kind per module: :mod:`.spc`, :mod:`.funnel`, :mod:`.heatmap`
(MoRiLE), :mod:`.bars`, :mod:`.priority_matrix`, :mod:`.lines` and :mod:`.seasonal`; :mod:`.base`
holds the :class:`Chart` result, the palette and the shared helpers.  The
public names are re-exported here, so ``from sa_lib.report.charts import
spc_chart`` works.
"""

from sa_lib.report.charts.bars import bar_chart
from sa_lib.report.charts.base import SERIES_COLOURS, SPC_COLOURS, Chart
from sa_lib.report.charts.funnel import funnel_chart
from sa_lib.report.charts.heatmap import morile_heatmap
from sa_lib.report.charts.hotspot import hotspot_chart
from sa_lib.report.charts.lines import line_chart
from sa_lib.report.charts.priority_matrix import priority_matrix_chart
from sa_lib.report.charts.seasonal import seasonal_chart
from sa_lib.report.charts.spc import spc_chart

__all__ = [
    "Chart",
    "spc_chart",
    "funnel_chart",
    "morile_heatmap",
    "bar_chart",
    "priority_matrix_chart",
    "line_chart",
    "seasonal_chart",
    "hotspot_chart",
    "SPC_COLOURS",
    "SERIES_COLOURS",
]
