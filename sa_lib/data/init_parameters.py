"""``sa init``: a first parameters file for any partnership, from the data it has.

:func:`survey_inputs` looks at what exists: the police.uk street files (read cheaply:
only ``Month``, ``Falls within``, ``LSOA code``, ``LSOA name`` and ``Crime type``), the
partnership's rows in them, and, when a partner folder is given, which partner returns,
MoRiLE sheets and action plan it holds.  :func:`init_parameters` turns that into a
commented parameters file (:mod:`sa_lib.data.init_text` writes the text):

* the area from :func:`sa_lib.data.area_search.find_partnership`, the force from the
  files' ``Falls within``, the window end from the last month held (or ``--end``);
* no ``comparison`` block when the 12 months before the review window are held; else a
  shorter comparison over the months held in both years, or none (the report then says
  which months are not compared);
* themes grouped like ``parameters/2025.yaml``, each with only the crime types present in
  the partnership's rows and the partner measures whose returns exist;
* ``priorities`` only with MoRiLE sheets, ``review`` and ``last_year_priorities`` only
  with an action plan; otherwise commented examples show how to add them.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sa_lib.data.area_search import find_partnership
from sa_lib.data.geography import resolve_area
from sa_lib.data.init_text import InitChoices, PartnerSurvey, PoliceSurvey, parameters_text
from sa_lib.errors import DataValidationError, OptionError, ParameterError, Problem
from sa_lib.paths import PARAMETERS_DIR, PROJECT_ROOT

__all__ = ["survey_police_uk", "survey_partner", "comparison_months", "init_parameters"]

_COLUMNS = ["Month", "Falls within", "LSOA code", "LSOA name", "Crime type"]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _shift(month: str, n: int) -> str:
    total = int(month[:4]) * 12 + int(month[5:7]) - 1 + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def _label(month: str) -> str:
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def _read_columns(path: Path) -> pa.Table:
    try:
        return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=_COLUMNS, column_types={c: pa.string() for c in _COLUMNS}))
    except (pa.ArrowException, OSError) as exc:
        msg = str(exc).strip("'\"").splitlines()[0]
        if "column" in msg.lower() and ("not found" in msg or "does not exist" in msg):
            msg = (f"is not a police.uk street file: expected the columns {', '.join(_COLUMNS)} "
                   f"({msg})")
        else:
            msg = f"cannot be read as a police.uk street file: {msg}"
        raise DataValidationError([Problem(str(path), None, None, msg)]) from None


def survey_police_uk(paths: list[Path], area_code: str) -> PoliceSurvey:
    """Read the street files' few columns and describe the partnership's rows in them.

    Parameters
    ----------
    paths : list of Path
        Folders (searched recursively) or files of ``YYYY-MM-<force>-street.csv(.gz)``.
    area_code : str
        The partnership's CSP code; its rows are selected by 2011 LSOA code or by LSOA
        name prefix (both LSOA vintages), as the report selects them.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> s = survey_police_uk([DATA_DIR / "police_uk" / "maidstone"], "E22000142")
    >>> s.forces, s.area_months[-1], "Drugs" in s.crime_types
    (('Kent Police',), '2025-12', True)
    """
    from sa_lib.data.police_uk import find_street_files

    area = resolve_area(area_code)
    codes = pa.array(sorted(area.lsoa_codes), pa.string())
    months: set[str] = set()
    area_months: set[str] = set()
    forces: Counter[str] = Counter()
    types: Counter[str] = Counter()
    files = find_street_files(paths)
    for f in files:
        t = _read_columns(f)
        months.update(m for m in pc.unique(t["Month"]).to_pylist() if m)
        name = pc.fill_null(t["LSOA name"], "")
        mask = pc.is_in(pc.fill_null(t["LSOA code"], ""), value_set=codes)
        for prefix in area.name_prefixes:
            mask = pc.or_(mask, pc.starts_with(name, prefix))
        mine = t.filter(mask)
        area_months.update(m for m in pc.unique(mine["Month"]).to_pylist() if m)
        forces.update({k: v for k, v in _counts(mine["Falls within"]).items() if k})
        types.update({k: v for k, v in _counts(mine["Crime type"]).items() if k})
    bad = sorted(m for m in months if not _MONTH.match(m))
    if bad:
        raise DataValidationError([Problem(", ".join(str(p) for p in paths), None, "Month",
                                           f"months {bad[:3]} are not written YYYY-MM")])
    return PoliceSurvey(months=tuple(sorted(months)), area_months=tuple(sorted(area_months)),
                        forces=tuple(f for f, _ in forces.most_common()),
                        crime_types=dict(types.most_common()), rows=sum(types.values()),
                        files=len(files))


def _counts(column: pa.ChunkedArray) -> dict[str, int]:
    vc = pc.value_counts(column).to_pylist()
    return {d["values"]: d["counts"] for d in vc if d["values"] is not None}


def survey_partner(folder: Path) -> PartnerSurvey:
    """Which partner returns, MoRiLE sheets and action plan a folder holds.

    Each return found is loaded and checked (a bad return is refused now, with its
    file, row and column, rather than when the report runs).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> s = survey_partner(DATA_DIR / "synthetic")
    >>> s.spans["section_136"], len(s.morile_sheets), s.synthetic
    (('2021-01', '2025-12'), 3, True)
    """
    from sa_lib.data.inputs import _months_covered
    from sa_lib.data.measures import find_partner_files
    from sa_lib.data.morile_scales import load_morile_scales
    from sa_lib.data.morile_sheets import read_morile_sheets
    from sa_lib.data.partner import read_partner

    if not folder.is_dir():
        raise OptionError(f"--partner {folder}: not a folder; expected the folder holding the "
                          "partner returns (e.g. data/partner)")
    returns = find_partner_files(folder)
    spans: dict[str, tuple[str, str]] = {}
    plan: tuple[dict, ...] = ()
    # Only dates and targets are read here: identifiers are hashed with a throwaway key.
    key = secrets.token_hex(32)
    for kind, path in returns.items():
        frame = read_partner(path, kind, pseudonymise_key=key)
        span = _months_covered(frame)
        if span is not None:
            spans[kind] = (f"{span[0]:%Y-%m}", f"{span[1]:%Y-%m}")
        if kind == "action_plan":
            plan = tuple(frame.astype(object).where(frame.notna(), None).to_dict("records"))
    sheets = tuple(sorted(folder.glob("*morile*.csv")))
    themes: tuple[str, ...] = ()
    if sheets:
        scored = read_morile_sheets(list(sheets), load_morile_scales())
        themes = tuple(dict.fromkeys(scored["theme"].astype(str)))
    return PartnerSurvey(folder=folder, returns=returns, morile_sheets=sheets, spans=spans,
                         morile_themes=themes, action_plan=plan)


# --------------------------------------------------------------------------- decisions


def comparison_months(held: set[str], end: str, months: int) -> tuple[str, str] | None | bool:
    """The current side of the comparison the data support.

    Returns ``True`` when the 12 months before the review window are all held (no
    ``comparison`` block is needed), else the longest run of consecutive review-window
    months held in both years (``(first, last)``, the latest on a tie), else ``None``.

    Examples
    --------
    >>> held = {"2024-01", "2024-02", "2024-03", "2024-04"} | {f"2025-{m:02d}" for m in range(1, 13)}
    >>> comparison_months(held, "2025-12", 12)
    ('2025-01', '2025-04')
    >>> comparison_months(held | {f"2024-{m:02d}" for m in range(5, 13)}, "2025-12", 12)
    True
    """
    window = [_shift(end, -i) for i in range(months - 1, -1, -1)]
    if all(_shift(m, -12) in held for m in window):
        return True
    both = [m in held and _shift(m, -12) in held for m in window]
    best: tuple[int, int] | None = None
    i = 0
    while i < len(window):
        if not both[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(window) and both[j + 1]:
            j += 1
        if best is None or j - i >= best[1] - best[0]:
            best = (i, j)
        i = j + 1
    return None if best is None else (window[best[0]], window[best[1]])


def _shown_path(value: str) -> str:
    """A path as the user gave it, or relative to the project when it lies inside it."""
    p = Path(value)
    if p.is_absolute() and p.resolve().is_relative_to(PROJECT_ROOT):
        return str(p.resolve().relative_to(PROJECT_ROOT))
    return value


def _project_path(value: str, key: str) -> Path:
    from sa_lib.data.parameters import resolve_data_path

    p = Path(value)
    full = p if p.is_absolute() else PROJECT_ROOT / p
    if not full.exists():
        raise OptionError(f"{key} {value}: not found (relative paths are read from the project "
                          f"folder, {PROJECT_ROOT.name}/)")
    try:
        return resolve_data_path(value, key)
    except ParameterError as exc:
        raise OptionError(str(exc)) from None


def _window(end: str | None, months: int, survey: PoliceSurvey, paths: str,
            name: str) -> str:
    held = survey.months
    if not held:
        raise OptionError(f"--police-uk {paths}: the street files hold no month")
    if end is None:
        end = held[-1]
    elif not _MONTH.match(end):
        raise OptionError(f"--end {end!r}: expected a month written YYYY-MM (e.g. {held[-1]})")
    cover = f"they cover {_label(held[0])} to {_label(held[-1])}"
    if not held[0] <= end <= held[-1]:
        raise OptionError(f"--end {end}: outside the police.uk data in {paths}; {cover}. "
                          f"Expected --end between {held[0]} and {held[-1]}")
    if not 1 <= months <= 120:
        raise OptionError(f"--months {months}: expected a number of months from 1 to 120")
    start = _shift(end, -(months - 1))
    if start < held[0]:
        most = sum(1 for m in range(120) if _shift(end, -m) >= held[0])
        raise OptionError(f"--months {months}: the review window {_label(start)} to {_label(end)} "
                          f"starts before the police.uk data begin; {cover}. Expected --months "
                          f"at most {most} for --end {end}, or the earlier months' street files")
    if not any(start <= m <= end for m in survey.area_months):
        raise OptionError(f"no records for {name} in {paths} between {_label(start)} and "
                          f"{_label(end)}; is this the right force?")
    return end


def init_parameters(area: str, police_uk: list[str], *, end: str | None = None,
                    months: int = 12, partner: str | None = None, out: str | None = None,
                    force: bool = False, command: str = "sa init",
                    run_date: dt.date | None = None) -> Path:
    """Write a commented, valid parameters file for a partnership (``sa init``).

    Parameters
    ----------
    area : str
        A CSP code, a district code or a name (:func:`find_partnership`).
    police_uk : list of str
        Folders or files of police.uk street files, relative to the project folder or
        absolute (inside ``data/``, ``parameters/`` or ``$SA_EXTRA_DATA_DIRS``).
    end : str, optional
        The review window's last month, ``YYYY-MM`` (default: the last month held).
    months : int, default 12
        The review window's length.
    partner : str, optional
        The folder of partner returns (and MoRiLE sheets, action plan).
    out : str, optional
        Where to write (default ``parameters/<area>_<year>.yaml``).
    force : bool, default False
        Overwrite an existing file.
    command : str
        The command line, written into the file's header.
    run_date : date, optional
        The date printed on the report (default: today).

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OptionError
        An unknown or ambiguous area (with suggestions), ``--end``/``--months`` outside the
        data, no records for the area in the files, or the file exists (without ``force``).
    DataValidationError
        A street file or partner return that cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sa_lib.data.safe_yaml import read_yaml
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "melton.yaml"
    >>> _ = init_parameters("Melton", ["data/police_uk/leicestershire_sample"], out=str(out))
    >>> doc = read_yaml(out)
    >>> doc["area"], doc["window"]
    ({'name': 'Melton', 'code': 'E22000169', 'police_force': 'Leicestershire'}, {'end': '2022-10', 'months': 12})
    """
    from sa_lib.data.slugs import folder_slug

    partnership = find_partnership(area)
    if not police_uk:
        raise OptionError("--police-uk: expected at least one folder of police.uk street files")
    full = [_project_path(p, "--police-uk") for p in police_uk]
    shown = ", ".join(police_uk)
    survey = survey_police_uk(full, partnership.code)
    if not survey.rows:
        raise OptionError(f"no records for {partnership.name} ({partnership.code}) in {shown}; "
                          "is this the right force?")
    end = _window(end, months, survey, shown, f"{partnership.name} ({partnership.code})")
    held = set(survey.months)
    partner_survey = None
    if partner is not None:
        partner_survey = survey_partner(_project_path(partner, "--partner"))
    force_name = survey.forces[0]
    choices = InitChoices(
        partnership=partnership, force=force_name.removesuffix(" Police"), end=end,
        months=months, held=survey.months, comparison=comparison_months(held, end, months),
        police_uk=tuple(_shown_path(p) for p in police_uk), police=survey,
        partner=partner_survey, partner_shown=_shown_path(partner) if partner else None,
        command=command, run_date=run_date or dt.date.today())
    text = parameters_text(choices)
    year = end[:4]
    target = Path(out) if out else PARAMETERS_DIR / f"{folder_slug(partnership.name)}_{year}.yaml"
    if not target.is_absolute():
        target = PROJECT_ROOT / target
    shown_target = _shown_path(str(target))
    if target.exists() and not force:
        raise OptionError(f"{shown_target} already exists; pass --force to overwrite it, or "
                          "--out for another file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "w" if force else "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except FileExistsError:
        raise OptionError(f"{shown_target} already exists; pass --force to overwrite it") \
            from None
    except OSError as exc:
        raise OptionError(f"could not write {shown_target}: {exc.strerror or exc}") from None
    _commentary_skeleton(target)
    return target


def _commentary_skeleton(target: Path) -> None:
    """The empty commentary file beside new parameters (an existing one is never replaced)."""
    from sa_lib.data.commentary_files import commentary_file, write_skeleton
    from sa_lib.data.safe_yaml import read_yaml

    raw = read_yaml(target)
    themes = [t.get("name", "") for t in raw.get("themes") or [] if isinstance(t, dict)]
    try:
        write_skeleton(commentary_file(target), themes, str(raw.get("title") or ""))
    except OSError as exc:
        raise OptionError(f"could not write the commentary skeleton "
                          f"{_shown_path(str(commentary_file(target)))}: "
                          f"{exc.strerror or exc}") from None
