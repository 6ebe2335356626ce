"""The assessment context a notebook opens: parameters, inputs and publisher in one object.

Each notebook starts with ``ctx = sa.open_assessment(parameters_file, audience,
output_dir)`` and then only calls methods and ``sa_lib`` functions, so no
notebook reads a file or builds a path itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from sa_lib.change import format_count
from sa_lib.chapter_crime import _CrimeChapter
from sa_lib.chapter_priorities import _PriorityChapter
from sa_lib.chapter_review import _ReviewChapter
from sa_lib.chapter_summary import _SummaryChapter
from sa_lib.chapter_themes import SYNTHETIC_NOTE, TableSpec, _ThemeChapter
from sa_lib.parameters import Parameters, load_parameters
from sa_lib.paths import PROJECT_ROOT
from sa_lib.police_uk import load_report, monthly_counts, read_police_uk
from sa_lib.quality import data_quality
from sa_lib.report import Publisher, markdown_escape

__all__ = ["Assessment", "open_assessment", "check_inputs"]

POLICE_UK_CAVEAT = (
    "police.uk street-level data are location-anonymised (each record is moved to a nearby "
    "snap point) and are not the force's recorded-crime total; some offences, such as most "
    "domestic abuse, are not identifiable in them. Anti-social behaviour records have no crime "
    "ID, so all counts are counts of records by type."
)


@dataclass
class Assessment(_CrimeChapter, _ThemeChapter, _ReviewChapter, _PriorityChapter, _SummaryChapter):
    """Everything one notebook run needs; inputs are loaded on first use."""

    params: Parameters
    publish: Publisher

    @cached_property
    def records(self) -> pd.DataFrame:
        """police.uk records for the area (all loaded months; loaded once per kernel)."""
        from sa_lib.input_cache import cached_load

        paths = self.params.police_uk_paths()
        return cached_load(("police_uk", self.params.area.code), paths,
                           lambda: read_police_uk(paths, area=self.params.area.code))

    @cached_property
    def counts(self) -> pd.DataFrame:
        """Monthly counts by crime type for the area (``month, area, crime_type, count``)."""
        return monthly_counts(self.records)

    @cached_property
    def quality(self) -> pd.DataFrame:
        """Data-quality flags over the review window."""
        return data_quality(self.records, window=self.params.review_window)

    def sources_table(self) -> pd.DataFrame:
        """One row per police.uk file loaded: month, rows for the area, rows with no location."""
        rep = load_report(self.records)
        out = pd.DataFrame({
            "month": rep["month"].astype(str),
            "file": rep["file"].map(lambda f: Path(f).name),
            "records for the area": rep["rows_selected"],
            "rows with no location (not counted)": rep["rows_no_location"],
            "sha256 (first 12)": rep["sha256"].str[:12],
        })
        return out

    def coverage_text(self) -> Markdown:
        """A paragraph on what was loaded and how the area was selected."""
        rep = load_report(self.records)
        months = sorted(rep["month"])
        w = self.params.review_window
        in_window = [m for m in months if w.start <= m <= w.end]
        area = markdown_escape(self.records.attrs.get("area", self.params.area.name))
        text = (
            f"This assessment uses {len(months)} months of police.uk street-level data "
            f"({months[0]:%b %Y} to {months[-1]:%b %Y}), {format_count(int(rep['rows_selected'].sum()))} "
            f"records in all. The area is {area}. The review window is {w.label} "
            f"({len(in_window)} of its {w.n_months} months have data).\n\n"
            f"*{POLICE_UK_CAVEAT}*"
        )
        return Markdown(text)

    def partner_sources_table(self) -> TableSpec:
        """One row per partner return loaded: kind, file, rows, period covered, synthetic or not."""
        import hashlib

        rows = []
        for kind, frame in self.partner_data.items():
            src = Path(frame.attrs["source"])
            first, last = _coverage(frame)
            rows.append({
                "return": kind.replace("_", " "),
                "file": src.name,
                "rows": len(frame),
                "first month": first,
                "last month": last,
                "synthetic": "SYNTHETIC" if frame.attrs.get("synthetic") else "real",
                "sha256 (first 12)": hashlib.sha256(src.read_bytes()).hexdigest()[:12],
            })
        syn = any(r["synthetic"] == "SYNTHETIC" for r in rows)
        return TableSpec(pd.DataFrame(rows), "sources_partner",
                         "Partner returns loaded" + (" (SYNTHETIC data)" if syn else ""),
                         SYNTHETIC_NOTE if syn else "Partner returns, validated against the "
                         "templates in data/templates.")

    def partner_sources_text(self) -> Markdown:
        """What the partner data are, and the warning when they are synthetic."""
        data = self.partner_data
        syn = [k for k, f in data.items() if f.attrs.get("synthetic")]
        text = (f"{len(data)} partner returns were loaded from "
                f"`{markdown_escape(self.params.data.partner)}` and validated against their "
                "templates; personal identifiers were pseudonymised on loading and appear in no "
                "output.")
        if syn:
            text = (f"**{len(syn)} of the {len(data)} partner returns are SYNTHETIC.** They were "
                    "generated by `sa_lib.synthetic` to demonstrate the workbook: no figure from "
                    "them describes a real person, place or service. " + text)
        return Markdown(text)

    def quality_table(self) -> pd.DataFrame:
        """The data-quality flags as shown in the report.

        Rows with no location are counted per file in :meth:`sources_table`, so they
        are not repeated here.
        """
        q = self.quality[self.quality["check"] != "no_location"]
        return pd.DataFrame({
            "check": q["check"].str.replace("_", " "),
            "severity": q["severity"],
            "month": q["month"].astype(str).replace("NaT", ""),
            "detail": q["detail"],
        })

    def quality_text(self) -> Markdown:
        """Plain-English summary of the warnings an analyst or reader must know."""
        q = self.quality
        warnings = q[q["severity"] == "warning"]
        lines = []
        missing = warnings[warnings["check"] == "missing_month"]
        w = self.params.review_window
        lines.append(
            f"- **Missing months in the review window ({w.label}):** "
            + (", ".join(f"{m:%b %Y}" for m in missing["month"]) if len(missing)
               else "none; every month has data.")
        )
        bad = warnings[warnings["check"].isin(["implausible_total", "implausible_type"])]
        lines.append(
            "- **Implausible months:** " + (
                " ".join(markdown_escape(d) for d in
                          bad.loc[bad["check"] == "implausible_total", "detail"])
                if (bad["check"] == "implausible_total").any() else
                "none in the review window." if len(bad) == 0 else
                f"{len(bad)} crime-type month(s), listed below.")
        )
        return Markdown("\n".join(lines))


def _coverage(frame: pd.DataFrame) -> tuple[str, str]:
    """First and last month a partner return covers, from whichever date columns it has."""
    starts, ends = [], []
    for col in ("date", "month", "period_start", "cohort_start"):
        if col in frame and frame[col].notna().any():
            s = frame[col]
            s = s if isinstance(s.dtype, pd.PeriodDtype) else pd.to_datetime(s).dt.to_period("M")
            starts.append(s.min())
    for col in ("date", "month", "period_end", "cohort_end"):
        if col in frame and frame[col].notna().any():
            s = frame[col]
            s = s if isinstance(s.dtype, pd.PeriodDtype) else pd.to_datetime(s).dt.to_period("M")
            ends.append(s.max())
    if "year" in frame and frame["year"].notna().any():
        starts.append(pd.Period(f"{int(frame['year'].min())}-01", "M"))
        ends.append(pd.Period(f"{int(frame['year'].max())}-12", "M"))
    return (str(min(starts)) if starts else "", str(max(ends)) if ends else "")


def check_inputs(params: Parameters) -> None:
    """Refuse a run the data cannot support, before any notebook starts.

    The review window must hold at least one month of police.uk data; a new
    year's parameters file run before its data are added gets a clear error
    naming the key and the months the data do cover, not an empty report.

    Raises
    ------
    ParameterError
        No police.uk month inside the review window.

    Examples
    --------
    >>> from sa_lib.parameters import load_parameters
    >>> check_inputs(load_parameters("parameters/2025.yaml"))
    """
    from sa_lib.errors import ParameterError

    records = read_police_uk(params.police_uk_paths(), area=params.area.code)
    months = sorted(load_report(records)["month"])
    w = params.review_window
    if not any(w.start <= m <= w.end for m in months):
        have = f"{months[0]:%b %Y} to {months[-1]:%b %Y}" if months else "no months at all"
        raise ParameterError(
            f"{params.source}: window.end {params.window.end!r}: the police.uk data "
            f"({', '.join(params.data.police_uk)}) hold no month in the review window {w.label}; "
            f"they cover {have}. Add the new months' street files, or set window.end to a month "
            "the data cover.")


def open_assessment(
    parameters_file: str | Path,
    audience: str = "official",
    output_dir: str | Path | None = None,
) -> Assessment:
    """Open the assessment a notebook is part of.

    Parameters
    ----------
    parameters_file : path
        The parameters file (relative to the project root, or absolute).
    audience : {"official", "public"}
        Which build is being made.
    output_dir : path, optional
        The build folder; empty or None when exploring interactively (nothing is written).

    Examples
    --------
    >>> ctx = open_assessment("parameters/2025.yaml")
    >>> ctx.params.area.name
    'Maidstone'
    """
    params = load_parameters(parameters_file)
    out = Path(output_dir) if output_dir else None
    if out is not None and not out.is_absolute():
        out = PROJECT_ROOT / out
    return Assessment(params, Publisher(out, audience=audience,  # type: ignore[arg-type]
                                        threshold=params.thresholds.disclosure))
