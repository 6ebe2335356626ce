"""What an SPC chart shows, in words: the one place every chapter and chart words SPC.

An SPC chart says two different things, and a sentence must not mix them up:

* the **latest month**: is its point within the limits (common cause) or a
  special-cause signal? (:func:`latest_point_words`);
* the **review window as a whole**: which special-cause signals fall in it, each
  named by its rule in plain words: points above or below the limits, a run of
  points on one side of the mean, a rising or falling trend, points close to a
  limit two of three in a row (:func:`window_signals`).

:func:`spc_sentences` gives both, as "In December 2025, total crime was within
the limits (common cause). Over Jan 2025 – Dec 2025: one point above the upper
limit (concern): July 2025."  A signal is called seasonal when the frame has a
boolean ``seasonal`` column that is True for its point (set by the seasonality
check, never here).  Missing months (``NaN``) are never points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.periods import Window
from sa_lib.stats.spc import RUN_LENGTH, TREND_LENGTH

__all__ = [
    "NO_SIGNALS",
    "latest_point_words",
    "window_signals",
    "window_words",
    "spc_sentences",
    "baseline_words",
    "month_range",
    "charted_months",
    "spc_findings",
    "baseline_rule_words",
    "RULE_WORDS",
    "LOWER_LIMIT_NOTE",
]

#: What the window shows when no point in it is special cause.
NO_SIGNALS = "no special-cause points"
#: The note on a chart or table of counts whose lower limits were raised to 0.
LOWER_LIMIT_NOTE = ("Lower limits below 0 are shown as 0: a count cannot be negative, so no "
                    "month can fall below them.")
#: The special-cause rules in plain words (for notes).
RULE_WORDS = (f"a point outside the limits; a run of {RUN_LENGTH} or more points on one side of "
              f"the mean; a trend of {TREND_LENGTH} or more points each higher (or lower) than "
              "the one before; two of three points in a row close to a limit (beyond two thirds "
              "of the way to it) on the same side")
_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten", "eleven", "twelve")


def _number(n: int) -> str:
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else f"{n:,}"


def _points(n: int) -> str:
    return f"{_number(n)} point{'s' if n != 1 else ''}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def month_range(start: pd.Period | pd.Timestamp, end: pd.Period | pd.Timestamp) -> str:
    """``Jan 2025 – Dec 2025`` (or ``Jul 2025`` for one month).

    Examples
    --------
    >>> month_range(pd.Period("2025-01", "M"), pd.Period("2025-12", "M"))
    'Jan 2025 – Dec 2025'
    """
    a, b = f"{start:%b %Y}", f"{end:%b %Y}"
    return a if a == b else f"{a} – {b}"


def one_series_options(spc: pd.DataFrame, who: str = "SPC wording") -> tuple[str, str, str]:
    """``(date, value, improvement)`` of an :func:`~sa_lib.stats.spc.xmr` result for one series.

    Raises OptionError, naming ``who``, when the frame lost xmr's options or holds
    several series (filter to one first).
    """
    opts = spc.attrs.get("spc_options", {})
    date, value = opts.get("date"), opts.get("value")
    if date is None or value is None:
        raise OptionError(f"{who} needs the output of xmr() (its options were lost)")
    by = opts.get("by") or []
    if by and spc[by].drop_duplicates().shape[0] > 1:
        raise OptionError(f"{who} is for one series; the data has several groups in {by}. "
                          "Filter to one first, e.g. spc[spc['crime_type'] == 'Robbery']")
    return date, value, str(opts.get("improvement", "decrease"))


def _judgement(side: int, improvement: str) -> str:
    """``concern`` / ``improvement`` / ``unusually high`` / ``unusually low`` for a side."""
    if improvement == "neutral":
        return "unusually high" if side > 0 else "unusually low"
    good = (side > 0) == (improvement == "increase")
    return "improvement" if good else "concern"


def _sides(spc: pd.DataFrame) -> np.ndarray:
    """+1 for a signal read high (Above/Increasing), -1 low, 0 common cause."""
    label = spc["special_cause_type"].astype(str)
    high = label.str.contains("Above|Increasing", regex=True).to_numpy()
    return np.where(spc["special_cause"].to_numpy(bool), np.where(high, 1, -1), 0)


def _stretches(keys: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """An id per maximal stretch of equal non-zero ``keys`` within one segment."""
    change = np.ones(len(keys), dtype=bool)
    change[1:] = (keys[1:] != keys[:-1]) | (segment[1:] != segment[:-1])
    return np.cumsum(change) - 1


@dataclass(frozen=True)
class _Signal:
    first: pd.Timestamp
    last: pd.Timestamp
    rule: str
    side: int
    what: str  # e.g. "a run of 8 points above the mean", "above the upper limit"
    months: str = ""  # the months named, for signals listed point by point

    def words(self, improvement: str) -> str:
        tag = f"({_judgement(self.side, improvement)})"
        if self.months:
            return f"{self.what} {tag}: {self.months}"
        return f"{self.what} {tag} from {self.first:%b %Y} to {self.last:%b %Y}"


def latest_point_words(spc: pd.DataFrame) -> tuple[pd.Timestamp | None, str]:
    """The latest month with a value and what its point shows, e.g. "within the limits
    (common cause)" or "above the upper limit (special cause: concern)".

    Examples
    --------
    >>> from sa_lib.stats.spc import xmr
    >>> df = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=8, freq="MS"),
    ...                    "n": [10, 12, 11, 13, 12, 11, 12, 40]})
    >>> latest_point_words(xmr(df, "n", "month"))
    (Timestamp('2025-08-01 00:00:00'), 'above the upper limit (special cause: concern)')
    """
    date, value, improvement = one_series_options(spc)
    have = spc[spc[value].notna()]
    if have.empty:
        return None, "not charted (no figures)"
    row = have.iloc[-1]
    when = pd.Timestamp(row[date])
    if not bool(row["special_cause"]):
        return when, "within the limits (common cause)"
    side = int(_sides(have.iloc[[-1]])[0])
    rule = str(row["rule"])
    if rule == "outside_limits":
        what = "above the upper limit" if side > 0 else "below the lower limit"
    elif rule == "two_in_three":
        what = (f"close to the {'upper' if side > 0 else 'lower'} limit, with another of the "
                "last three points")
    else:
        mine = [s for s in _signals(spc, value, date, None)
                if s.first <= when <= s.last and s.rule == rule]
        what = f"part of {mine[-1].what}" if mine else "part of a " + rule
    return when, f"{what} (special cause: {_judgement(side, improvement)})"


def _seasonal(spc: pd.DataFrame, idx: list[int], months: pd.Series, side: int) -> str:
    """" (seasonal, ...: May 2022 and June 2022)" for the points the seasonality check marked.

    Read from a ``seasonal`` column (:func:`sa_lib.stats.seasonality.mark_seasonal`); one
    phrase for the whole list, so a long list does not repeat it after every month.
    """
    if "seasonal" not in spc.columns:
        return ""
    flags = spc["seasonal"].to_numpy(dtype=object)
    marked = [i for i in idx if not pd.isna(flags[i]) and bool(flags[i])]
    if not marked:
        return ""
    level = "high" if side > 0 else "low"
    if len(marked) == len(idx) == 1:
        return f" (seasonal: the same month was {level} in another year)"
    if len(marked) == len(idx):
        return f" (seasonal: each was also {level} in the same month of another year)"
    return (f" (seasonal, the same month also {level} in another year: "
            f"{_join([f'{months[i]:%B %Y}' for i in marked])})")


def _signals(spc: pd.DataFrame, value: str, date: str, window: Window | None) -> list[_Signal]:
    """Each signal with a point in ``window`` (all if None), in date order."""
    months = pd.to_datetime(spc[date]).reset_index(drop=True)
    y = spc[value].to_numpy(dtype=float)
    has = ~np.isnan(y)
    inside = has.copy() if window is None else has & (
        (months >= window.start.start_time) & (months <= window.end.start_time)).to_numpy()
    seg = spc["rebase_group"].to_numpy() if "rebase_group" in spc else np.zeros(len(y), int)
    side = _sides(spc)
    out: list[_Signal] = []

    def listed(rule: str, flag: np.ndarray, high: str, low: str) -> None:
        for s, where in ((1, high), (-1, low)):
            idx = list(np.flatnonzero(flag & inside & (side == s)))
            if idx:
                names = _join([f"{months[i]:%B %Y}" for i in idx])
                out.append(_Signal(months[idx[0]], months[idx[-1]], rule, s,
                                   f"{_points(len(idx))} {where}",
                                   names + _seasonal(spc, idx, months, s)))

    listed("outside_limits", spc["outside_limits"].to_numpy(bool), "above the upper limit",
           "below the lower limit")
    # Runs: maximal stretches on one side of the mean (a missing month or a point on the
    # mean ends one) of at least RUN_LENGTH points.  Trends: maximal stretches of strictly
    # rising (falling) steps covering TREND_LENGTH points or more.  Only those reaching
    # into the window.
    rtm = np.nan_to_num(spc["relative_to_mean"].to_numpy(dtype=float), nan=0.0)
    step = np.zeros(len(y))
    if len(y) > 1:
        with np.errstate(invalid="ignore"):
            step[1:] = np.nan_to_num(np.sign(np.diff(y)), nan=0.0)
        step[1:][seg[1:] != seg[:-1]] = 0.0
    for keys, rule, minimum in ((rtm, "run", RUN_LENGTH), (step, "trend", TREND_LENGTH - 1)):
        ids = _stretches(keys, seg)
        for k in np.unique(ids):
            members = np.flatnonzero(ids == k)
            sign = int(keys[members[0]])
            if sign == 0 or len(members) < minimum:
                continue
            if rule == "trend":  # n steps join n + 1 points: the first step's start too
                members = np.r_[members[0] - 1, members]
            if not inside[members].any():
                continue
            what = (f"a run of {len(members)} points {'above' if sign > 0 else 'below'} the mean"
                    if rule == "run" else
                    f"a {'rising' if sign > 0 else 'falling'} trend of {len(members)} points")
            out.append(_Signal(months[members[0]], months[members[-1]], rule, sign, what))
    listed("two_in_three", spc["rule"].astype(str).to_numpy() == "two_in_three",
           "close to the upper limit, two of three points in a row",
           "close to the lower limit, two of three points in a row")
    return sorted(out, key=lambda s: s.first)


def window_signals(spc: pd.DataFrame, window: Window) -> list[str]:
    """Each special-cause signal with a point in ``window``, in words, in date order.

    Examples
    --------
    >>> from sa_lib.periods import month_window
    >>> from sa_lib.stats.spc import xmr
    >>> df = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=8, freq="MS"),
    ...                    "n": [10, 12, 11, 13, 40, 11, 12, 12]})
    >>> window_signals(xmr(df, "n", "month"), month_window("2025-01", "2025-08"))
    ['one point above the upper limit (concern): May 2025']
    """
    date, value, improvement = one_series_options(spc)
    return [s.words(improvement) for s in _signals(spc, value, date, window)]


def window_words(spc: pd.DataFrame, window: Window) -> str:
    """:func:`window_signals` joined with "; ", or :data:`NO_SIGNALS`."""
    signals = window_signals(spc, window)
    return "; ".join(signals) if signals else NO_SIGNALS


def spc_sentences(spc: pd.DataFrame, what: str, window: Window) -> str:
    """What the latest month shows, then what the window shows, as two sentences.

    Parameters
    ----------
    spc : DataFrame
        :func:`~sa_lib.stats.spc.xmr` (or ``history_xmr``) output for one series.
    what : str
        The series' name as it reads in a sentence (e.g. "total crime").
    window : Window
        The review window.

    Examples
    --------
    >>> from sa_lib.periods import month_window
    >>> from sa_lib.stats.spc import xmr
    >>> df = pd.DataFrame({"month": pd.date_range("2025-01-01", periods=8, freq="MS"),
    ...                    "n": [10, 12, 11, 13, 40, 11, 12, 12]})
    >>> spc_sentences(xmr(df, "n", "month"), "robbery", month_window("2025-01", "2025-08"))
    'In August 2025, robbery was within the limits (common cause). Over Jan 2025 – Aug 2025: one point above the upper limit (concern): May 2025.'
    """
    when, words = latest_point_words(spc)
    latest = f"{what[:1].upper()}{what[1:]} is {words}." if when is None \
        else f"In {when:%B %Y}, {what} was {words}."
    if when is not None and when < window.end.start_time:
        after = month_range(pd.Period(when, "M") + 1, window.end)
        latest = latest[:-1] + f" (the latest month with figures; none for {after})."
    return f"{latest} Over {month_range(window.start, window.end)}: {window_words(spc, window)}."


def baseline_words(points: int, baseline_points: int, baseline_all: bool,
                   start: pd.Period | None, end: pd.Period | None) -> str:
    """The baseline of a segment: "all 16 months" or "Jan 2023 – Dec 2024, 24 months".

    Examples
    --------
    >>> baseline_words(16, 16, True, pd.Period("2024-01", "M"), pd.Period("2025-12", "M"))
    'all 16 months'
    >>> baseline_words(34, 22, False, pd.Period("2020-01", "M"), pd.Period("2021-10", "M"))
    'Jan 2020 – Oct 2021, 22 months'
    """
    if baseline_all or start is None or pd.isna(start):
        return f"all {points} month{'s' if points != 1 else ''}"
    return f"{month_range(start, end)}, {baseline_points} month{'s' if baseline_points != 1 else ''}"


def charted_months(spc: pd.DataFrame) -> str:
    """The months an SPC chart spans (first to last with a value), e.g. ``Jan 2024 – Dec 2025``.

    Examples
    --------
    >>> from sa_lib.stats.spc import xmr
    >>> df = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=3, freq="MS"),
    ...                    "n": [1.0, 2.0, float("nan")]})
    >>> charted_months(xmr(df, "n", "month"))
    'Jan 2024 – Feb 2024'
    """
    date, value, _ = one_series_options(spc)
    d = pd.to_datetime(spc.loc[spc[value].notna(), date])
    return "no figures" if d.empty else month_range(d.min(), d.max())


def baseline_rule_words(rule: str | tuple[object, object], min_points: int) -> str:
    """A baseline rule (``spc.baseline``) in words, for a note.

    Examples
    --------
    >>> baseline_rule_words("auto", 20)
    'the months before the review window when at least 20 of them have figures, else every month charted'
    """
    if isinstance(rule, tuple):
        return (f"the months {month_range(pd.Period(rule[0], 'M'), pd.Period(rule[1], 'M'))}"
                " (every month charted for a segment with fewer than 2 of them)")
    return {
        "auto": (f"the months before the review window when at least {min_points} of them have "
                 "figures, else every month charted"),
        "all": "every month charted",
        "before_window": ("the months before the review window (every month charted when "
                          "fewer than 2 have figures)"),
    }[rule]


def spc_findings(table: pd.DataFrame, window_label: str, label: str = "crime type") -> list[str]:
    """Key-findings sentences from an SPC summary table: the window's signals, the latest month.

    ``table`` has ``label``, ``latest month`` ("Dec 2025: within the limits (common
    cause)") and ``review window`` columns, as the chapters' SPC tables do.

    Examples
    --------
    >>> t = pd.DataFrame({"crime type": ["Drugs", "Robbery"],
    ...                   "latest month": ["Dec 2025: within the limits (common cause)"] * 2,
    ...                   "review window": [NO_SIGNALS, "one point above the upper limit "
    ...                                     "(concern): July 2025"]})
    >>> for s in spc_findings(t, "Jan 2025 – Dec 2025"):
    ...     print(s)
    On the SPC charts, over Jan 2025 – Dec 2025: Robbery: one point above the upper limit (concern): July 2025. The other major crime type shows no special-cause points.
    In the latest month (Dec 2025), each of the 2 major crime types was within the limits (common cause).
    """
    noisy = table[table["review window"] != NO_SIGNALS]
    n_quiet = len(table) - len(noisy)
    if noisy.empty:
        first = (f"On the SPC charts, none of the {len(table)} major crime types shows a "
                 f"special-cause point in {window_label}.")
    else:
        first = (f"On the SPC charts, over {window_label}: " + "; ".join(
            f"{r[label]}: {r['review window']}" for _, r in noisy.iterrows()) + ".")
        if n_quiet:
            first += (f" The other major crime type{'s show' if n_quiet > 1 else ' shows'} no "
                      "special-cause points.")
    latest = table["latest month"].astype(str).str.split(": ", n=1, expand=True)
    common = latest[1].str.endswith("(common cause)")
    months = sorted(set(latest[0]))
    when = months[0] if len(months) == 1 else "each series' latest month"
    if common.all():
        second = (f"In the latest month ({when}), each of the {len(table)} major crime types "
                  "was within the limits (common cause).")
    else:
        second = "In the latest month: " + "; ".join(
            f"{r[label]} was {w} ({m})" for (_, r), m, w in
            zip(table[~common].iterrows(), latest.loc[~common, 0], latest.loc[~common, 1],
                strict=True)) + "."
    return [first, second]
