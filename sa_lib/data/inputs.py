"""Every input of an assessment, loaded once and checked before any notebook starts.

:func:`check_inputs` validates every file the report reads, so a bad input
fails in a second with its loader's own message.  :func:`police_uk_records` and
:func:`partner_returns` are the one way the report loads the police.uk records
and the partner returns: the check and the chapters share the loaded result
through :func:`sa_lib.data.cache.cached_load`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sa_lib.data.cache import cached_load
from sa_lib.data.measures import load_partner_data
from sa_lib.data.parameters import Parameters
from sa_lib.data.police_uk import load_report, read_police_uk

__all__ = ["check_inputs", "police_uk_records", "partner_returns", "morile_sheet_files",
           "csp_table_choice", "absent_inputs", "OPTIONAL_INPUTS"]

#: The inputs a report can do without, in the order chapter 1 lists them: the
#: ``data`` key (or return kind) and what it gives the report.
OPTIONAL_INPUTS = {
    "partner": "partner returns",
    "action_plan": "action-plan return",
    "resident_survey": "residents' survey return",
    "morile_sheets": "MoRiLE scoring sheets",
    "csp_table": "Home Office table of recorded crime by partnership",
}


def police_uk_records(params: Parameters) -> pd.DataFrame:
    """police.uk records for the parameters' area, all loaded months (loaded once per kernel).

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> records = police_uk_records(load_parameters("parameters/2025.yaml"))
    >>> records.attrs["area"].split(" (")[0]
    'Maidstone'
    """
    paths = params.police_uk_paths()
    return cached_load(("police_uk", params.area.code), paths,
                       lambda: read_police_uk(paths, area=params.area.code))


def partner_returns(params: Parameters) -> dict[str, pd.DataFrame]:
    """Every partner return in ``data.partner``, validated, by kind (loaded once per kernel).

    Empty when ``data.partner`` is not given or its folder holds no return: partner
    data are optional, and the chapters say what is missing.
    """
    if params.data.partner is None:
        return {}
    folder = params.path("partner")
    declared = params.declared_measures()
    from sa_lib.data.measures import BUILTIN_MEASURES

    measures = {**BUILTIN_MEASURES, **declared}
    # The declared measures decide which files are read and how: part of the cache key.
    key = ("partner", tuple(sorted((n, repr(s)) for n, s in declared.items())))
    return cached_load(key, [folder], lambda: load_partner_data(folder, measures=measures))


def morile_sheet_files(params: Parameters) -> list[Path]:
    """The MoRiLE scoring sheets chapter 5 reads (``*morile*.csv`` in ``data.morile_sheets``).

    Empty when the key is not given or the folder holds no sheet (MoRiLE is optional).

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> len(morile_sheet_files(load_parameters("parameters/2025.yaml")))
    3
    """
    if params.data.morile_sheets is None:
        return []
    p = params.path("morile_sheets")
    return sorted(p.glob("*morile*.csv")) if p.is_dir() else [p]


def csp_table_choice(params: Parameters) -> tuple[Path, str] | None:
    """The Home Office Table C2 nearest the review window, and its period (None: not given).

    ``data.csp_table`` names one table, a folder of them or a list; the table whose
    12 months end nearest the review window's end is used
    (:func:`sa_lib.data.home_office.nearest_csp_table`).

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> path, period = csp_table_choice(load_parameters("parameters/2025.yaml"))
    >>> period
    'year ending June 2025'
    """
    from sa_lib.data.home_office import nearest_csp_table

    paths = params.input_paths("csp_table")
    if not paths:
        return None
    end = params.review_window.end
    return cached_load(("csp_table_choice", str(end)), paths,
                       lambda: nearest_csp_table(paths, end))


def absent_inputs(params: Parameters) -> list[str]:
    """The optional inputs this assessment lacks, as keys of :data:`OPTIONAL_INPUTS`.

    ``partner`` when no partner return was given (key absent or null, or a folder
    with none in it); ``action_plan`` / ``resident_survey`` when partner returns
    were given but not that one; ``morile_sheets`` when no MoRiLE sheet was given;
    ``csp_table`` when ``data.csp_table`` is null or names no table.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> absent_inputs(load_parameters("parameters/2025.yaml"))
    []
    """
    returns = partner_returns(params)
    out = []
    if not returns:
        out.append("partner")
    else:
        out += [k for k in ("action_plan", "resident_survey") if k not in returns]
    if not morile_sheet_files(params):
        out.append("morile_sheets")
    if csp_table_choice(params) is None:
        out.append("csp_table")
    return out


def check_inputs(params: Parameters) -> None:
    """Load and validate every input the report reads, before any notebook starts.

    A bad input then fails in a second with its loader's own message (file, row,
    column and what was expected) instead of as a failed notebook cell, and the
    last good report is never touched.  Checked, in this order:

    * ``area.code``: a CSP code (E22/W22...); a local authority code is refused with
      the CSP that contains it suggested (the report ranks the area among CSPs);
    * police.uk street files (``data.police_uk``): every file inside the allowed
      data folders, each valid (:func:`sa_lib.data.police_uk.read_police_uk`), at
      least one month inside the review window, and a review window
      (``window.months``) that does not start before the data's first month;
    * every partner return in ``data.partner`` (:func:`sa_lib.data.measures.load_partner_data`),
      and for each theme whose priority-matrix volume comes from a partner count
      (``priorities.measures``), a return that spans the whole review window;
    * the MoRiLE scales and every ``*morile*.csv`` sheet in ``data.morile_sheets``,
      with the themes the ``priorities`` section scores: each must be scored by at
      least one scorer, and no sheet may score another theme;
    * the CSP table (``data.csp_table``; among several, the one nearest the review
      window), which must hold the area's row;

    Only what is given is checked.  Partner returns, MoRiLE sheets and the CSP table
    are optional: a key left out or null, or a folder with nothing in it, is a
    *missing input* (:func:`absent_inputs`), which the chapters name in one sentence
    and carry on without.  What is given and wrong is still an error: an unreadable
    or invalid file, a path outside the data folders, a measure, crime type or theme
    name nobody defines, a CSP table without the area's row, a review window longer
    than the police.uk data.
    * the population file (``data.population``), which must hold the area's
      districts in or before the review window's population year.

    Partner returns, the CSP table and the population are loaded through
    :func:`sa_lib.data.cache.cached_load`, so a process that runs several
    assessments reads each unchanged file once.

    Raises
    ------
    ParameterError
        A local authority (or unknown) code as ``area.code``, no police.uk month
        inside the review window, a review window longer than the data (police.uk,
        or a partner count the priority matrix needs), no MoRiLE sheet, or an input
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
    _check_area_code(params)
    _check_police_uk(params)
    _check_partner(params)
    _check_priority_candidates(params)
    _check_partner_window(params)
    _check_morile(params)
    _check_csp_table(params)
    _check_population(params)


def _check_police_uk(params: Parameters) -> None:
    from sa_lib.data.parameters import check_inside_data_roots
    from sa_lib.data.police_uk import find_street_files
    from sa_lib.errors import ParameterError

    paths = params.police_uk_paths()
    for f in find_street_files(paths):
        check_inside_data_roots(f, "data.police_uk")
    records = police_uk_records(params)
    months = sorted(load_report(records)["month"])
    w = params.review_window
    if not any(w.start <= m <= w.end for m in months):
        have = f"{months[0]:%b %Y} to {months[-1]:%b %Y}" if months else "no months at all"
        raise ParameterError(
            f"{params.source}: window.end {params.window.end!r}: the police.uk data "
            f"({', '.join(params.data.police_uk)}) hold no month in the review window {w.label}; "
            f"they cover {have}. Add the new months' street files, or set window.end to a month "
            "the data cover.")
    if w.start < months[0]:
        most = (w.end - months[0]).n + 1
        raise ParameterError(
            f"{params.source}: window.months {params.window.months}: the review window {w.label} "
            f"starts before the police.uk data ({', '.join(params.data.police_uk)}) begin; they "
            f"cover {months[0]:%b %Y} to {months[-1]:%b %Y}. Expected window.months at most "
            f"{most} for window.end {params.window.end!r}, or the earlier months' street files.")


def _check_area_code(params: Parameters) -> None:
    from sa_lib.data.geography import load_csp_lookup
    from sa_lib.errors import ParameterError

    code = params.area.code
    lk = load_csp_lookup()
    if code[:3] in ("E22", "W22", "W14"):  # Welsh CSPs are W14 in the ONS lookup
        if code not in set(lk["csp_code"]):
            raise ParameterError(
                f"{params.source}: area.code {code} is not a Community Safety Partnership in the "
                "bundled ONS lookup; expected the code of a CSP, "
                "E22... or W22... (listed in data/lookups/lad17_csp17_pfa17.csv)")
        return
    hit = lk[lk["lad_code"] == code]
    if hit.empty:
        raise ParameterError(
            f"{params.source}: area.code {code} is not a Community Safety Partnership code and "
            "is not a local authority in the ONS lookup; expected a CSP code (E22... or W22...)")
    row = hit.iloc[0]
    raise ParameterError(
        f"{params.source}: area.code {code} is the local authority code of {row['lad_name']}; "
        "the report is for a Community Safety Partnership (it ranks the area among CSPs). "
        f"Expected its CSP's code: area.code {row['csp_code']} ({row['csp_name']})")


def _check_partner(params: Parameters) -> None:
    from sa_lib.data.measures import find_declared_files, find_partner_files
    from sa_lib.data.parameters import check_inside_data_roots

    if params.data.partner is None:
        return
    folder = params.path("partner")
    for f in find_partner_files(folder).values():
        check_inside_data_roots(f, "data.partner")
    for f in find_declared_files(folder, params.declared_measures()).values():
        check_inside_data_roots(f, "data.partner")
    partner_returns(params)


def _as_month(x: object) -> pd.Period:
    return x if isinstance(x, pd.Period) else pd.Timestamp(x).to_period("M")


def _months_covered(frame: pd.DataFrame, time: object = None
                    ) -> tuple[pd.Period, pd.Period] | None:
    """First and last month a partner return covers (``None`` when it has no dates)."""
    pairs: tuple[tuple[str, str], ...] = (("date", "date"), ("month", "month"),
                                          ("period_start", "period_end"),
                                          ("cohort_start", "cohort_end"))
    how, cols = getattr(time, "how", None), tuple(getattr(time, "columns", ()))
    if how in ("date", "month") and cols[0] in frame:
        pairs = ((cols[0], cols[0]),)
    elif how == "year" and cols[0] in frame and frame[cols[0]].notna().any():
        years = frame[cols[0]].dropna().astype(int)
        return pd.Period(f"{years.min()}-01", "M"), pd.Period(f"{years.max()}-12", "M")
    for first_col, last_col in pairs:
        if first_col in frame and last_col in frame and frame[first_col].notna().any():
            first, last = frame[first_col].dropna().min(), frame[last_col].dropna().max()
            return _as_month(first), _as_month(last)
    if "year" in frame and frame["year"].notna().any():
        years = frame["year"].dropna().astype(int)
        return pd.Period(f"{years.min()}-01", "M"), pd.Period(f"{years.max()}-12", "M")
    return None


def _check_partner_window(params: Parameters) -> None:
    """A partner count that gives a theme its priority-matrix volume starts by the review window.

    A window reaching back before the return's first month is longer than the data
    (a parameters mistake).  A return that ends before the window ends is normal (the
    partner's figures come later than police.uk's): the report says "no data for
    <window>" and scores the volume 3 (:mod:`sa_lib.report.chapters.priorities`).
    """
    from sa_lib.data.measures import BUILTIN_MEASURES
    from sa_lib.errors import ParameterError

    pr, w = params.priorities, params.review_window
    returns = partner_returns(params)
    known = {**BUILTIN_MEASURES, **params.declared_measures()}
    for theme, measure in pr.measures.items():
        spec = known.get(measure)
        if spec is None or spec.unit != "count" or theme in pr.volume:
            continue
        frame = returns.get(spec.kind)
        span = _months_covered(frame, spec.time) if frame is not None else None
        if span is None or span[0] <= w.start:
            continue
        first, last = span
        raise ParameterError(
            f"{params.source}: window.months {params.window.months}: the review window "
            f"{w.label} is longer than the partner return for {measure!r} "
            f"(priorities.measures {theme!r}), which covers {first:%b %Y} to {last:%b %Y}; the "
            "priority matrix needs the measure's total over the whole window. Expected a "
            "review window inside the data (window.months at most "
            f"{max((w.end - first).n + 1, 0)} for window.end {params.window.end!r}), or a hand "
            f"score for {theme!r} in priorities.volume.")


def _check_priority_candidates(params: Parameters) -> None:
    """Every theme flagged ``priority: true`` has all its scores; ONE error lists every gap.

    A candidate needs a perception and an influence score (``priorities``), a
    volume and a trend (a measure, or hand scores; a rate needs a hand volume) and
    a MoRiLE score from at least one sheet in ``data.morile_sheets``.
    """
    from sa_lib.data.measures import BUILTIN_MEASURES
    from sa_lib.data.morile_scales import load_morile_scales
    from sa_lib.data.morile_sheets import read_morile_sheets
    from sa_lib.errors import ParameterError

    candidates = params.priority_candidates
    if not candidates:
        return
    pr = params.priorities
    known = {**BUILTIN_MEASURES, **params.declared_measures()}
    files = morile_sheet_files(params)
    scored: set[str] = set()
    if files:
        sheets = read_morile_sheets(files, load_morile_scales(params.path("morile_scales")))
        scored = set(sheets["theme"].astype(str))
    missing = []
    for i, theme in enumerate(params.themes, start=1):
        if not theme.priority:
            continue
        where = f"themes[{i}] ({theme.name!r}, priority: true)"
        t = theme.name
        for key in ("perception", "influence"):
            if t not in getattr(pr, key):
                missing.append(f"{where}: no priorities.{key} score (1-5)")
        measure = pr.measures.get(t)
        if measure is None and not (t in pr.volume and t in pr.trend):
            missing.append(f"{where}: no measure to score volume and trend (give the theme a "
                           "crime type or partner measure, or priorities.volume and "
                           "priorities.trend hand scores)")
        elif measure is not None and t not in pr.volume and \
                getattr(known.get(measure), "unit", "count") != "count":
            missing.append(f"{where}: its measure {measure!r} is a rate, not a volume; "
                           "expected a hand score in priorities.volume")
        if files and t not in scored:  # no sheets at all: chapter 5 says MoRiLE is missing
            missing.append(f"{where}: no MoRiLE score (no sheet in {params.data.morile_sheets} "
                           "scores this theme; add its rows to the scorers' sheets)")
    if missing:
        raise ParameterError(f"{params.source}: {len(missing)} score(s) missing for the priority "
                             "candidates:\n" + "\n".join(f"  - {m}" for m in missing))


def _check_morile(params: Parameters) -> None:
    from sa_lib.data.cache import cached_load
    from sa_lib.data.morile_scales import load_morile_scales
    from sa_lib.data.morile_sheets import read_morile_sheets
    from sa_lib.data.parameters import check_inside_data_roots

    scales_file = check_inside_data_roots(params.path("morile_scales"), "data.morile_scales")
    # The files chapter 5 reads (sa_lib.report.chapters.priorities); none is no MoRiLE.
    files = morile_sheet_files(params)
    if not files:
        return
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

    choice = csp_table_choice(params)
    if choice is None:
        return
    path = check_inside_data_roots(choice[0], "data.csp_table")
    table = cached_load(("csp_table",), [path], lambda: read_csp_recorded_crime(path))
    code = params.area.code
    column, key = (("csp_code", "Community Safety Partnership code") if code[:3] in ("E22", "W22", "W14")
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
