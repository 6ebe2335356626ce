"""The annual handover: next year's parameters file, and what the analyst must still supply.

``sa new-year parameters/2025.yaml`` (:func:`new_year`) writes ``parameters/2026.yaml``:

* the file is edited as YAML text (ruamel.yaml's round trip), so every comment and the
  order of the keys are kept, and the header names the source file relative to the
  project (no absolute path is written);
* ``year``, ``run_date``, the title's year and the review window move on 12 months;
* ``last_year_priorities`` becomes the priorities the previous assessment *recommended*,
  read from that build's ``official/tables/recommended_priorities.csv`` (named in a
  comment); with no previous build the list is kept, with a comment saying why;
* a ``comparison`` block (the workaround for police.uk data that did not cover the
  previous year) is dropped, with a note, when the street files named in
  ``data.police_uk`` now cover every month of the new review window and the year
  before it; otherwise it moves on 12 months with its comment.

``sa new-year --check parameters/2026.yaml`` (:func:`missing_inputs`) lists, one line
each, what is still missing: police.uk months, partner returns that end before the
review window does, the resident survey, MoRiLE sheets and action-plan targets.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import pandas as pd

from sa_lib.data.commentary_files import commentary_file, write_skeleton
from sa_lib.data.parameters import Parameters, load_parameters
from sa_lib.errors import OutputError, ParameterError, SAError
from sa_lib.output_gate import OutputGate
from sa_lib.paths import OUTPUTS_DIR, PARAMETERS_DIR, PROJECT_ROOT
from sa_lib.periods import Window, previous_window

__all__ = ["new_year", "previous_recommendations", "missing_inputs", "police_uk_months"]

#: The table of the previous build that names the recommended priorities.
RECOMMENDED_TABLE = Path("official") / "tables" / "recommended_priorities.csv"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _shift_month(m: str, months: int) -> str:
    y, mo = int(m[:4]), int(m[5:7])
    total = y * 12 + (mo - 1) + months
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def _shown(path: Path) -> str:
    """A path as written into a parameters file or a message: relative to the project."""
    full = Path(path).resolve()
    return str(full.relative_to(PROJECT_ROOT)) if full.is_relative_to(PROJECT_ROOT) \
        else full.name


def _round_trip() -> Any:
    from ruamel.yaml import YAML

    y = YAML()  # round trip: comments, key order and quoting are kept
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a line the analyst wrote
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _months(window: Window) -> list[str]:
    return [f"{m:%Y-%m}" for m in window.months]


def police_uk_months(params: Parameters) -> set[str]:
    """The months the street files named in ``data.police_uk`` hold, from their file names.

    Raises
    ------
    DataValidationError
        A folder is missing or holds no street file, or a month has two files
        (:func:`sa_lib.data.police_uk.find_street_files`).

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> sorted(police_uk_months(load_parameters("parameters/2025.yaml")))[-1]
    '2025-12'
    """
    from sa_lib.data.police_uk import find_street_files

    return {f.name[:7] for f in find_street_files(params.police_uk_paths())}


def previous_recommendations(params: Parameters) -> tuple[list[str] | None, str]:
    """The priorities recommended by the build of ``params``, or why they cannot be read.

    Reads ``<outputs>/<area>/<period>/official/tables/recommended_priorities.csv``
    (the rows whose ``recommendation`` is ``priority``, in the table's order).  The
    file is reached through the outputs folder's :class:`~sa_lib.output_gate.OutputGate`,
    so a link inside the outputs folder is never followed.

    Returns
    -------
    (list of str, str) or (None, str)
        The themes and the table's path (relative to the outputs folder), or ``None``
        and the reason the table could not be used.

    Examples
    --------
    >>> import tempfile, unittest.mock
    >>> from sa_lib.data.parameters import load_parameters
    >>> with unittest.mock.patch("sa_lib.data.new_year.OUTPUTS_DIR", Path(tempfile.mkdtemp())):
    ...     themes, why = previous_recommendations(load_parameters("parameters/2025.yaml"))
    >>> themes is None, why.startswith("no previous build")
    (True, True)
    """
    relative = Path(params.area_slug) / params.period_slug / RECOMMENDED_TABLE
    table = OUTPUTS_DIR / relative
    try:
        path = OutputGate(OUTPUTS_DIR).check(table)
    except OutputError as exc:
        return None, f"the previous build's table was not read: {exc}"
    if not path.is_file():
        return None, (f"no previous build of this file's report: {relative} was not found in "
                      "the outputs folder (run `sa run` on this year's file first)")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError) as exc:
        return None, f"{relative} could not be read: {exc}"
    missing = [c for c in ("theme", "recommendation") if c not in frame.columns]
    if missing:
        return None, f"{relative} has no column {' or '.join(map(repr, missing))}"
    themes = [_unquote(t).strip() for t in frame.loc[frame["recommendation"] == "priority",
                                                     "theme"]]
    themes = list(dict.fromkeys(t for t in themes if t))
    if not themes:
        return None, f"{relative} recommends no priority"
    return themes, str(relative)


def _unquote(text: str) -> str:
    """Undo the publisher's leading apostrophe on text that starts like a formula."""
    if text.startswith("'") and text[1:].lstrip(" ").startswith(_FORMULA_START):
        return text[1:]
    return text


def _comment_before(doc: Any, key: str) -> tuple[Any, Any, int] | None:
    """Where the comment lines above top-level ``key`` live: (node, key or index, slot).

    ruamel keeps the comment lines above a key as the trailing comment of the
    last scalar before it (possibly deep inside the previous key's value).
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    keys = list(doc)
    at = keys.index(key)
    if at == 0:
        return None
    node, last = doc, keys[at - 1]
    while True:
        value = node[last]
        if isinstance(value, CommentedMap) and len(value):
            node, last = value, list(value)[-1]
        elif isinstance(value, CommentedSeq) and len(value):
            node, last = value, len(value) - 1
        else:
            return node, last, (2 if isinstance(node, CommentedMap) else 0)


def _set_comment_before(doc: Any, key: str, lines: list[str]) -> None:
    """Replace the comment lines above top-level ``key`` (a blank line is kept before them)."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    spot = _comment_before(doc, key)
    import textwrap

    wrapped = [w for line in lines for w in textwrap.wrap(line, 92)]
    text = "\n\n" + "".join(f"# {line}\n" for line in wrapped)
    if spot is None:
        doc.yaml_set_start_comment("\n".join(wrapped))
        return
    node, where, slot = spot
    entry = node.ca.items.setdefault(where, [None, None, None, None])
    before = entry[slot]
    if before is not None and before.value.startswith("#"):  # keep the line's own comment
        before.value = before.value.split("\n", 1)[0] + text
    else:
        entry[slot] = CommentToken(text, CommentMark(0), None)


def _same_style(old: object, new: str) -> object:
    """``new`` quoted as ``old`` was (ruamel keeps quotes in ``str`` subclasses)."""
    return type(old)(new) if isinstance(old, str) else new


def _covers(months: set[str], window: Window) -> bool:
    return set(_months(window)) <= months


def new_year(path: str | Path, out: str | Path | None = None, *,
             notes: list[str] | None = None) -> Path:
    """Start next year's parameters file from this year's (``sa new-year``).

    Dates move on 12 months (``year``, ``run_date``, ``window.end``, the title's year);
    ``last_year_priorities`` becomes the priorities this year's report recommended;
    a ``comparison`` block is dropped when the police.uk data cover the new year and
    the one before, else moved on.  Comments, key order and everything else (area,
    themes, thresholds, data folders, rebase dates) are kept.  Refuses to overwrite
    an existing file.

    Parameters
    ----------
    path : path
        This year's parameters file (validated first).
    out : path, optional
        Where to write (default ``parameters/<year + 1>.yaml``).
    notes : list, optional
        Receives one line per thing the analyst should know (e.g. the priorities
        could not be updated, and why); ``sa new-year`` prints them.

    Raises
    ------
    ParameterError
        The file is invalid, or ``out`` already exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sa_lib.data.safe_yaml import read_yaml
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "2026.yaml"
    >>> _ = new_year("parameters/2025.yaml", out)
    >>> read_yaml(out)["window"]["end"]
    '2026-12'
    """
    notes = notes if notes is not None else []
    params = load_parameters(path)
    source = Path(params.source)
    target = Path(out) if out else PARAMETERS_DIR / f"{params.year + 1}.yaml"
    if target.exists():
        raise ParameterError(f"{_shown(target)} already exists; remove it or pass --out")
    y = _round_trip()
    doc = y.load(source.read_text(encoding="utf-8"))
    year = params.year + 1

    doc["year"] = year
    d = params.run_date
    doc["run_date"] = d.replace(year=d.year + 1, day=min(d.day, 28 if d.month == 2 else 31))
    if isinstance(doc.get("title"), str):
        doc["title"] = _same_style(doc["title"],
                                   doc["title"].replace(str(params.year), str(year)))
    new_end = _shift_month(params.window.end, 12)
    doc["window"]["end"] = _same_style(doc["window"]["end"], new_end)

    if doc.get("comparison") is not None:
        _move_comparison(doc, params, new_end, notes)
    _update_priorities(doc, params, notes)
    if doc.get("commentary") is not None:  # last year's words stay with last year
        del doc["commentary"]

    header = (f"# Parameters for the {year} strategic assessment, started from "
              f"{_shown(source)} by `sa new-year`.\n"
              f"# Check what is still missing with: sa new-year --check {_shown(target)}\n"
              f"# then run: sa run {_shown(target)}\n")
    buf = io.StringIO()
    y.dump(doc, buf)
    # A file that `sa new-year` wrote last year loses that year's header (not two of them).
    body = re.sub(r"\A# Parameters for the \d{4} strategic assessment, started from .*\n"
                  r"(# Check what is still missing with: .*\n)?(# then run: sa run .*\n)?", "",
                  buf.getvalue())
    try:
        with open(target, "x", encoding="utf-8") as fh:  # never overwrites (checked above too)
            fh.write(header + body)
    except FileExistsError:
        raise ParameterError(f"{_shown(target)} already exists; remove it or pass --out") \
            from None
    except OSError as exc:
        raise ParameterError(f"could not write {_shown(target)}: {exc.strerror or exc}") from None
    _commentary_skeleton(params, target, doc.get("title"), notes)
    return target


def _commentary_skeleton(params: Parameters, target: Path, title: object,
                         notes: list[str]) -> None:
    """Write next year's commentary skeleton: fresh, last year's words are not carried over."""
    fresh = commentary_file(target)
    old = commentary_file(params.source, params.commentary)
    themes = [t.name for t in params.themes]
    try:
        written = write_skeleton(fresh, themes, str(title or ""))
    except OSError as exc:
        notes.append(f"warning: the commentary skeleton {_shown(fresh)} was not written: "
                     f"{exc.strerror or exc}")
        return
    carried = (f"; last year's commentary ({_shown(old)}) is not carried over: its figures "
               "are last year's" if old.exists() else "")
    notes.append(f"commentary skeleton written to {_shown(fresh)} (one heading per section, "
                 f"empty){carried}" if written else
                 f"commentary file {_shown(fresh)} already exists and was left as it is")


def _move_comparison(doc: Any, params: Parameters, new_end: str, notes: list[str]) -> None:
    """Drop the comparison block when the data now cover both years, else move it on."""
    from sa_lib.periods import rolling_window

    review = rolling_window(new_end, params.window.months)
    try:
        have = police_uk_months(params)
    except SAError:
        have = set()
    if _covers(have, review) and _covers(have, previous_window(review)):
        keys = list(doc)
        following = keys[keys.index("comparison") + 1] if keys[-1] != "comparison" else None
        spot = _comment_before(doc, "comparison")
        del doc["comparison"]
        lines = [f"comparison: dropped by `sa new-year`: the police.uk data "
                 f"({', '.join(params.data.police_uk)}) cover every month of the review window "
                 f"{review.label} and of the 12 months before it,",
                 "so the whole review window is compared with the year before."]
        if spot is not None:
            node, where, slot = spot  # the dropped block's own comment goes with it
            entry = node.ca.items.get(where, [None] * 4)
            own = entry[slot].value if entry[slot] is not None else ""
            if own.startswith("#"):
                entry[slot].value = own.split("\n", 1)[0] + "\n"
            else:
                entry[slot] = None
        if following is not None:
            _set_comment_before(doc, following, lines)
        notes.append(" ".join(lines))
        return
    comp = doc["comparison"]
    for key in list(comp):
        value = comp[key]
        moved = _shift_month(value.strftime("%Y-%m") if isinstance(value, dt.date)
                             else str(value), 12)
        comp[key] = _same_style(value, moved)


def _update_priorities(doc: Any, params: Parameters, notes: list[str]) -> None:
    from ruamel.yaml.comments import CommentedSeq

    themes, why = previous_recommendations(params)
    old = doc.get("last_year_priorities")
    if themes is None:
        lines = [f"last_year_priorities: NOT updated by `sa new-year` ({why}).",
                 "These are still the priorities the previous file listed: replace them with",
                 f"the priorities the {params.year} assessment recommended."]
        notes.append(f"warning: last_year_priorities could not be updated: {why}; they still "
                     f"list the previous file's priorities; set them to those the {params.year} "
                     "assessment recommended")
        if old is None:
            return
    else:
        lines = [f"last_year_priorities: the priorities the {params.year} assessment "
                 "recommended,",
                 f"copied by `sa new-year` from the table {why} of the outputs folder."]
        if isinstance(old, CommentedSeq):
            trailing = old.ca.items.pop(len(old) - 1, None) if len(old) else None
            del old[:]
            old.extend(themes)
            if trailing is not None:
                old.ca.items[len(old) - 1] = trailing
        else:
            seq = CommentedSeq(themes)
            if "last_year_priorities" in doc:
                doc["last_year_priorities"] = seq
            else:
                doc.insert(len(doc), "last_year_priorities", seq)
    _set_comment_before(doc, "last_year_priorities", lines)


# --------------------------------------------------------------------------- --check
def _ranges(months: list[str]) -> str:
    """``['2026-01', '2026-02', '2026-04']`` -> ``'2026-01 to 2026-02, 2026-04'``."""
    out: list[list[str]] = []
    for m in sorted(months):
        if out and _shift_month(out[-1][-1], 1) == m:
            out[-1].append(m)
        else:
            out.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]} to {r[-1]}" for r in out)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _police_lines(params: Parameters) -> list[str]:
    where = ", ".join(params.data.police_uk)
    try:
        have = police_uk_months(params)
    except SAError as exc:
        return [f"police.uk street files ({where}): invalid: {_one_line(exc)}"]
    lines = []
    review = params.review_window
    missing = [m for m in _months(review) if m not in have]
    if missing:
        lines.append(f"police.uk street files for {_ranges(missing)} (review window "
                     f"{review.label}): add them to {where}")
    before = previous_window(review) if params.comparison is None else params.previous_window
    what = "the year before the review window" if params.comparison is None \
        else "comparison.previous_start to comparison.previous_end"
    missing = [m for m in _months(before) if m not in have and m not in _months(review)]
    if missing:
        lines.append(f"police.uk street files for {_ranges(missing)} ({what}, {before.label}): "
                     f"add them to {where}" + (", or keep a comparison block"
                                               if params.comparison is None else ""))
    return lines


def _read_kind(path: Path, kind: str) -> pd.DataFrame:
    import secrets

    from sa_lib.data.partner import read_partner

    # Identifiers are pseudonymised with a key made for this check (nothing is kept).
    return read_partner(path, kind, pseudonymise_key=secrets.token_hex(32))


def _partner_lines(params: Parameters) -> list[str]:
    from sa_lib.data.inputs import _months_covered
    from sa_lib.data.measures import PARTNER_MEASURES, find_partner_files

    folder = params.data.partner
    if folder is None:
        return []  # partner returns are optional; chapter 1 lists what is not given
    try:
        files = find_partner_files(params.path("partner"))
    except SAError as exc:
        return [f"partner returns ({folder}): invalid: {_one_line(exc)}"]
    w, lines = params.review_window, []
    used = [m for t in params.themes for m in t.partner_measures] + \
        list(params.priorities.measures.values()) + \
        [i.measure for i in params.review.indicators.values()]
    needed: dict[str, list[str]] = {}
    for m in dict.fromkeys(used):
        if m in PARTNER_MEASURES:
            needed.setdefault(PARTNER_MEASURES[m].kind, []).append(m)
    for kind in sorted(set(needed) - set(files)):
        lines.append(f"partner return '{kind}': no '*_{kind}.csv' file in {folder} (needed for "
                     f"{', '.join(needed[kind])})")
    frames: dict[str, pd.DataFrame] = {}
    for kind, path in files.items():
        try:
            frames[kind] = _read_kind(path, kind)
        except SAError as exc:
            lines.append(f"partner return '{kind}' ({_shown(path)}): invalid: {_one_line(exc)}")
            continue
        if kind in ("resident_survey", "action_plan"):
            continue
        span = _months_covered(frames[kind])
        if span is None:
            lines.append(f"partner return '{kind}' ({_shown(path)}): no dated rows; expected "
                         f"data up to {w.end:%b %Y}")
        elif span[1] < w.end:
            lines.append(f"partner return '{kind}' ({_shown(path)}): data end {span[1]:%b %Y}, "
                         f"before the review window ends ({w.end:%b %Y}); add the months to "
                         f"{w.end:%b %Y}")
    year = w.end.year
    if "resident_survey" not in files:
        lines.append(f"resident survey: no '*_resident_survey.csv' file in {folder}; expected "
                     f"the {year} survey")
    elif "resident_survey" in frames:
        years = frames["resident_survey"]["year"].dropna()
        if years.empty or int(years.max()) < year:
            latest = f"latest is {int(years.max())}" if not years.empty else "no year"
            lines.append(f"resident survey ({_shown(files['resident_survey'])}): no responses "
                         f"for {year} ({latest}); add the {year} survey")
    lines += _action_plan_lines(params, files, frames, str(year))
    return lines


def _action_plan_lines(params: Parameters, files: dict[str, Path],
                       frames: dict[str, pd.DataFrame], year: str) -> list[str]:
    folder = params.data.partner
    if "action_plan" not in files:
        return [f"action plan: no '*_action_plan.csv' file in {folder}; expected the indicators "
                f"and targets for {year}"]
    if "action_plan" not in frames:
        return []  # listed as invalid already
    plan, shown = frames["action_plan"], _shown(files["action_plan"])
    in_year = plan[plan["period"].astype(str).str.startswith(year)]
    with_target = in_year[in_year["target"].notna()] if "target" in in_year else in_year
    if with_target.empty:
        return [f"action plan ({shown}): no row with a target for {year} (the year the review "
                "window ends in); add each indicator's target for the year"]
    missing = [i for i in params.review.indicators if i not in set(with_target["indicator"])]
    if missing:
        return [f"action plan ({shown}): no {year} target for review.indicators "
                f"{', '.join(map(repr, missing))}"]
    return []


def _morile_lines(params: Parameters) -> list[str]:
    from sa_lib.data.morile_scales import load_morile_scales
    from sa_lib.data.morile_sheets import read_morile_sheets

    folder = params.data.morile_sheets
    if folder is None:
        return []  # MoRiLE is optional; chapter 5 ranks by the priority matrix alone
    p = params.path("morile_sheets")
    files = sorted(p.glob("*morile*.csv")) if p.is_dir() else [p]
    if not files:
        return [f"MoRiLE sheets: none found ('*morile*.csv' in {folder}); expected one scoring "
                "sheet per scorer"]
    pr = params.priorities
    themes = list(dict.fromkeys([*pr.perception, *pr.influence, *pr.measures, *pr.volume,
                                 *pr.trend]))
    try:
        read_morile_sheets(files, load_morile_scales(params.path("morile_scales")),
                           themes=themes or None)
    except SAError as exc:
        return [f"MoRiLE sheets ({folder}): invalid: {_one_line(exc)}"]
    return []


def missing_inputs(path: str | Path) -> list[str]:
    """What the analyst must still supply for a parameters file (``sa new-year --check``).

    One line each: police.uk months missing from the review window (and from the
    year before when there is no ``comparison`` block), partner returns that are
    missing or end before the review window does, the resident survey and the
    action-plan targets for the year the window ends in, and the MoRiLE sheets (none
    found, or themes not scored).  A file that fails validation is listed as
    ``invalid: <message>``; nothing here raises for a bad data file.

    Raises
    ------
    ParameterError
        The parameters file itself is invalid.

    Examples
    --------
    >>> missing_inputs("parameters/2025.yaml")
    []
    """
    params = load_parameters(path)
    checks = (_police_lines, _partner_lines, _morile_lines)
    lines: list[str] = []
    for check in checks:
        try:
            lines += check(params)
        except SAError as exc:  # a folder the check could not read: listed, never a crash
            lines.append(f"invalid: {_one_line(exc)}")
    return lines

