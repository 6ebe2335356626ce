"""The analyst's interactive explorer: pick an area, a crime type and a window.

``notebooks/explore.ipynb`` calls :func:`explorer`, which shows the change table
and the SPC chart for the chosen partnership, crime type and window, and
updates them on every change.  The explorer is for looking around; it is not
part of the report run and writes nothing to ``outputs/``.

The work is done by pure functions, tested without widgets:

* :func:`sa_lib.data.extracts.explore_records` loads every police.uk file the
  parameters file names plus the bundled ``data/police_uk`` folder and gives each
  record its Community Safety Partnership (CSP) from its LSOA;
* :func:`sa_lib.data.extracts.explore_areas` lists the partnerships with the months
  and records each has;
* :func:`sa_lib.report.explore_view.explore_view` builds one
  :class:`~sa_lib.report.explore_view.ExploreView`: the change table, a sentence,
  the SPC frame and chart (or a message saying why there is none).

Their modules give the rules that matter (areas from LSOAs, one extract per month,
months with data).
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd

from sa_lib.data.extracts import explore_areas, explore_records
from sa_lib.data.geography import load_csp_lookup
from sa_lib.data.parameters import TOTAL_CRIME, Parameters, load_parameters
from sa_lib.errors import OptionError, SAError
from sa_lib.report.charts import Chart
from sa_lib.report.explore_view import (
    EXPLORE_CRIME_TYPES,
    MAX_WINDOW_MONTHS,
    ExploreView,
    explore_view,
)

__all__ = [
    "Explorer",
    "explorer",
]


# --------------------------------------------------------------------------- widgets


class Explorer(widgets.VBox):
    """The explorer widget: area, crime type, window end and length; table and chart.

    Built by :func:`explorer`.  The controls are attributes (``area``,
    ``crime_type``, ``end``, ``months``), the status line is ``status``, the
    output area is ``output``; ``view`` is the
    :class:`~sa_lib.report.explore_view.ExploreView` on show and ``error`` the last
    error message (empty when the view is fine).
    """

    def __init__(
        self,
        records: pd.DataFrame,
        area: str,
        end: str,
        months: int,
        options: dict[str, Any] | None = None,
        improvement: dict[str, str] | None = None,
    ) -> None:
        self.records = records
        self.areas = explore_areas(records)
        self.view_options = dict(options or {})
        self.improvement = dict(improvement or {})
        self.view: ExploreView | None = None
        self.error = ""
        self._busy = False
        self.area = widgets.Dropdown(
            options=[(f"{a} ({n} month{'s' if n != 1 else ''})", a)
                     for a, n in zip(self.areas["area"], self.areas["months_with_data"],
                                     strict=True)],
            value=area, description="Area", style={"description_width": "initial"},
            layout=widgets.Layout(width="360px"))
        self.crime_type = widgets.Dropdown(
            options=list(EXPLORE_CRIME_TYPES), value=TOTAL_CRIME, description="Crime type",
            style={"description_width": "initial"}, layout=widgets.Layout(width="360px"))
        self.end = widgets.Dropdown(description="Window ends",
                                    style={"description_width": "initial"})
        self._set_end_options(area, end)
        self.months = widgets.IntSlider(
            value=months, min=1, max=MAX_WINDOW_MONTHS, step=1, description="Months",
            continuous_update=False)
        self.status = widgets.HTML()
        self.output = widgets.Output()
        super().__init__(children=[
            widgets.HBox([self.area, self.crime_type]),
            widgets.HBox([self.end, self.months]),
            self.status,
            self.output,
        ])
        for control in (self.area, self.crime_type, self.end, self.months):
            control.observe(self._on_change, names="value")
        self.refresh()

    def _set_end_options(self, area: str, wanted: str | None) -> None:
        months = sorted(set(self.records.loc[self.records["area"] == area, "month"]))
        values = [str(m) for m in months]
        self.end.options = [(f"{m:%b %Y}", str(m)) for m in months]
        self.end.value = wanted if wanted in values else values[-1]

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            if change["owner"] is self.area:
                self._set_end_options(self.area.value, self.end.value)
        finally:
            self._busy = False
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the view from the controls and show it."""
        try:
            self.view = explore_view(
                self.records, self.area.value, self.crime_type.value, self.end.value,
                int(self.months.value),
                improvement=self.improvement.get(self.crime_type.value, "decrease"),
                **self.view_options)
        except SAError as exc:
            self.view, self.error = None, str(exc)
            self.status.value = ""
            self._show(f"<p style='color:#d5281b'><strong>Cannot show this view:</strong> "
                       f"{html.escape(self.error)}</p>", self.error)
            return
        self.error = ""
        v = self.view
        self.status.value = (f"<p>{html.escape(v.coverage)} Window {html.escape(v.current.label)} "
                             f"compared with {html.escape(v.previous.label)}.</p>")
        self._show(v.text_html(), v.sentence, v.chart)

    def _show(self, body: str, text: str, chart: Chart | None = None) -> None:
        # Setting the outputs directly (not `with output:`) works the same in a kernel and in
        # tests; the chart is a plain image/png output, which every front end renders.
        outputs = [{"output_type": "display_data",
                    "data": {"text/html": body, "text/plain": text}, "metadata": {}}]
        if chart is not None:
            outputs.append({
                "output_type": "display_data",
                "data": {"image/png": base64.b64encode(chart.to_png()).decode("ascii"),
                         "text/plain": chart.alt_text},
                "metadata": {},
            })
        self.output.outputs = tuple(outputs)


def explorer(
    parameters_file: str | Path = "parameters/2025.yaml",
    records: pd.DataFrame | None = None,
) -> Explorer:
    """The interactive explorer: pick an area, a crime type and a window.

    Shows the change table (the window against the same months a year earlier)
    and the SPC chart of every month with data, updating on every change.
    Nothing is written to ``outputs/``.

    Parameters
    ----------
    parameters_file : path, default "parameters/2025.yaml"
        The assessment's parameters file: its area, window end and length are
        the starting selection, its thresholds and improvement directions are used.
    records : DataFrame, optional
        From :func:`sa_lib.data.extracts.explore_records` (default: loaded from the
        parameters file).

    Returns
    -------
    Explorer
        An ``ipywidgets.VBox``; display it in a notebook.

    Examples
    --------
    >>> ui = explorer()
    >>> ui.area.value, ui.end.value, ui.months.value
    ('Maidstone', '2025-12', 12)
    >>> ui.crime_type.value = "Drugs"
    >>> ui.view.crime_type
    'Drugs'
    """
    params = load_parameters(parameters_file)
    if records is None:
        records = explore_records(parameters_file)
    area = _default_area(params, explore_areas(records))
    months = max(1, min(params.window.months, MAX_WINDOW_MONTHS))
    return Explorer(records, area, params.window.end, months,
                    options={"small_base": params.thresholds.small_base,
                             "alpha": params.thresholds.significance},
                    improvement=dict(params.improvement))


def _default_area(params: Parameters, areas: pd.DataFrame) -> str:
    if areas.empty:
        raise OptionError("no police.uk records were loaded, so there is nothing to explore")
    code = params.area.code
    lk = load_csp_lookup()
    codes = {code, *lk.loc[lk["lad_code"] == code, "csp_code"]}
    for col, wanted in (("area_code", codes), ("area", {params.area.name})):
        hit = areas.loc[areas[col].isin(wanted), "area"]
        if len(hit):
            return str(hit.iloc[0])
    return str(areas["area"].iloc[0])
