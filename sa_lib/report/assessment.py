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

from sa_lib.data.parameters import Parameters, load_parameters
from sa_lib.data.police_uk import load_report, monthly_counts, read_police_uk
from sa_lib.data.quality import data_quality
from sa_lib.paths import PROJECT_ROOT
from sa_lib.report.chapters.crime import _CrimeChapter
from sa_lib.report.chapters.priorities import _PriorityChapter
from sa_lib.report.chapters.review import _ReviewChapter
from sa_lib.report.chapters.summary import _SummaryChapter
from sa_lib.report.chapters.themes import SYNTHETIC_NOTE, TableSpec, _ThemeChapter
from sa_lib.report.publish import Publisher, markdown_escape
from sa_lib.stats.change import format_count

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
        from sa_lib.data.cache import cached_load

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
                    "generated by `sa_lib.data.synthetic` to demonstrate the workbook: no figure from "
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
    """Load and validate every input the report reads, before any notebook starts.

    A bad input then fails in a second with its loader's own message (file, row,
    column and what was expected) instead of as a failed notebook cell, and the
    last good report is never touched.  Checked, in this order:

    * police.uk street files (``data.police_uk``): every file inside the allowed
      data folders, each valid (:func:`sa_lib.data.police_uk.read_police_uk`), and at
      least one month inside the review window;
    * every partner return in ``data.partner`` (:func:`sa_lib.data.measures.load_partner_data`);
    * the MoRiLE scales and every ``*morile*.csv`` sheet in ``data.morile_sheets``,
      with the themes the ``priorities`` section scores: each must be scored by at
      least one scorer, and no sheet may score another theme;
    * the CSP table (``data.csp_table``), which must hold the area's row;
    * the population file (``data.population``), which must hold the area's
      districts in or before the review window's population year.

    Partner returns, the CSP table and the population are loaded through
    :func:`sa_lib.data.cache.cached_load`, so a process that runs several
    assessments reads each unchanged file once.

    Raises
    ------
    ParameterError
        No police.uk month inside the review window, no MoRiLE sheet, or an input
        file that resolves (through a symlink) outside the allowed data folders.
    DataValidationError
        A police.uk file, partner return, the CSP table or the population file is
        invalid, or lacks the area (every problem, naming file, row and column).
    MoRiLEError
        A MoRiLE sheet is invalid: unknown label, score out of range, a field
        missing, a theme scored twice or by nobody.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> check_inputs(load_parameters("parameters/2025.yaml"))
    """
    _check_police_uk(params)
    _check_partner(params)
    _check_morile(params)
    _check_csp_table(params)
    _check_population(params)


def _check_police_uk(params: Parameters) -> None:
    from sa_lib.data.cache import cached_load
    from sa_lib.data.parameters import check_inside_data_roots
    from sa_lib.data.police_uk import find_street_files
    from sa_lib.errors import ParameterError

    paths = params.police_uk_paths()
    for f in find_street_files(paths):
        check_inside_data_roots(f, "data.police_uk")
    # The same key and loader as Assessment.records, so the result is shared.
    records = cached_load(("police_uk", params.area.code), paths,
                          lambda: read_police_uk(paths, area=params.area.code))
    months = sorted(load_report(records)["month"])
    w = params.review_window
    if not any(w.start <= m <= w.end for m in months):
        have = f"{months[0]:%b %Y} to {months[-1]:%b %Y}" if months else "no months at all"
        raise ParameterError(
            f"{params.source}: window.end {params.window.end!r}: the police.uk data "
            f"({', '.join(params.data.police_uk)}) hold no month in the review window {w.label}; "
            f"they cover {have}. Add the new months' street files, or set window.end to a month "
            "the data cover.")


def _check_partner(params: Parameters) -> None:
    from sa_lib.data.cache import cached_load
    from sa_lib.data.measures import find_partner_files, load_partner_data
    from sa_lib.data.parameters import check_inside_data_roots

    folder = params.path("partner")
    for f in find_partner_files(folder).values():
        check_inside_data_roots(f, "data.partner")
    # The same key and loader as Assessment.partner_data, so the result is shared.
    cached_load(("partner",), [folder], lambda: load_partner_data(folder))


def _check_morile(params: Parameters) -> None:
    from sa_lib.data.cache import cached_load
    from sa_lib.data.morile_scales import load_morile_scales
    from sa_lib.data.morile_sheets import read_morile_sheets
    from sa_lib.data.parameters import check_inside_data_roots
    from sa_lib.errors import ParameterError

    scales_file = check_inside_data_roots(params.path("morile_scales"), "data.morile_scales")
    p = params.path("morile_sheets")
    # The files chapter 5 reads (Assessment._morile_files).
    files = sorted(p.glob("*morile*.csv")) if p.is_dir() else [p]
    if not files:
        raise ParameterError(f"{params.source}: data.morile_sheets: no '*morile*.csv' scoring "
                             f"sheet in {params.data.morile_sheets}; expected one sheet per scorer")
    for f in files:
        check_inside_data_roots(f, "data.morile_sheets")
    pr = params.priorities
    themes = list(dict.fromkeys([*pr.perception, *pr.influence, *pr.measures, *pr.volume,
                                 *pr.trend]))
    cached_load(("morile_sheets", tuple(themes)), [scales_file, *files],
                lambda: read_morile_sheets(files, load_morile_scales(scales_file),
                                           themes=themes or None))


def _check_csp_table(params: Parameters) -> None:
    from sa_lib.data.cache import cached_load
    from sa_lib.data.home_office import read_csp_recorded_crime
    from sa_lib.data.parameters import check_inside_data_roots
    from sa_lib.errors import DataValidationError, Problem

    path = check_inside_data_roots(params.path("csp_table"), "data.csp_table")
    table = cached_load(("csp_table",), [path], lambda: read_csp_recorded_crime(path))
    code = params.area.code
    column, key = (("csp_code", "Community Safety Partnership code") if code[1:3] == "22"
                   else ("la_code", "Local Authority code"))
    if code not in set(table[column]):
        raise DataValidationError([Problem(
            str(path), None, key, f"no row for area.code {code} ({params.area.name}); expected "
            "the area's row, to rank it among all CSPs (is this the right table?)")])


def _check_population(params: Parameters) -> None:
    from sa_lib.data.cache import cached_load
    from sa_lib.data.geography import load_csp_lookup
    from sa_lib.data.home_office import area_population, population_year, read_population
    from sa_lib.data.parameters import check_inside_data_roots
    from sa_lib.errors import DataValidationError, OptionError, Problem

    path = check_inside_data_roots(params.path("population"), "data.population")
    pop = cached_load(("population",), [path], lambda: read_population(path))
    code = params.area.code
    lk = load_csp_lookup()
    la_codes = sorted(set(lk.loc[(lk["csp_code"] == code) | (lk["lad_code"] == code), "lad_code"]))
    year = population_year(params.review_window)
    try:
        area_population(la_codes, year, pop)
    except OptionError as exc:
        raise DataValidationError([Problem(
            str(path), None, "area_code", f"{exc} (area.code {code}, {params.area.name}); "
            f"expected an estimate for {', '.join(la_codes)} in or before {year}")]) from None


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
