"""Publishing tables and charts from a notebook into the run's output folder.

A notebook calls :class:`Publisher` for every table and chart it shows; the
publisher writes the CSV or PNG into ``tables/`` or ``charts/`` of the build
being made, applies disclosure control in the public build, and returns what
the notebook should display.  Notebooks never write files themselves.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from IPython.display import HTML, Image, Markdown

from sa_lib.data.slugs import file_slug
from sa_lib.errors import OptionError
from sa_lib.output_gate import OutputGate
from sa_lib.report.charts import Chart
from sa_lib.rounding import format_number

__all__ = ["Publisher", "AUDIENCES", "markdown_escape", "table_html", "file_slug",
           "disclosure_mask", "table_metadata"]

AUDIENCES = ("official", "public")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


#: A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection);
#: full-width forms too, which some spreadsheets fold to their ASCII twins.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d",
                  "\uff20")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def spreadsheet_text(value: object) -> object:
    """A cell as a spreadsheet will show it as text: formula starts get a leading ``'``.

    Text that starts (after spaces) with ``=``, ``+``, ``-``, ``@``, a tab or a line
    break would run as a formula in Excel or LibreOffice (e.g.
    ``=HYPERLINK("http://...", ...)``); it is written with a leading apostrophe, as
    OWASP's CSV-injection guidance says.  Numbers, and text that is a plain
    number such as ``-5``, are left alone.  Carriage returns become line feeds,
    which a CSV writer quotes.

    Examples
    --------
    >>> print(spreadsheet_text('=HYPERLINK("http://x")'))
    '=HYPERLINK("http://x")
    >>> spreadsheet_text("-5"), spreadsheet_text(-5), spreadsheet_text("Drugs")
    ('-5', -5, 'Drugs')
    """
    if not isinstance(value, str):
        return value
    # A bare carriage return is not quoted by a CSV writer ending lines with "\n", and a
    # spreadsheet starts a new row there: the text after it could start a formula.
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if value.lstrip(" ").startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value.strip()):
        return "'" + value
    return value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are :func:`spreadsheet_text`.

    Examples
    --------
    >>> spreadsheet_safe(pd.DataFrame({"@x": ["=1+1", "ok"], "n": [1, 2]})).to_dict("list")
    {"'@x": ["'=1+1", 'ok'], 'n': [1, 2]}
    """
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(spreadsheet_text)
    out.columns = [spreadsheet_text(c) for c in out.columns]
    return out


def markdown_escape(text: object) -> str:
    """Escape text that came from data before it is put into Markdown or HTML.

    Examples
    --------
    >>> print(markdown_escape("<script>alert(1)</script> *bold*"))
    &lt;script&gt;alert\\(1\\)&lt;/script&gt; \\*bold\\*
    >>> print(markdown_escape("see http://evil.example"))  # no autolink either
    see http\\://evil.example
    >>> print(markdown_escape("1. first\\n===\\n    code"))  # no list, heading or code block
    1\\. first === code
    """
    # One line: a line break in data could start a heading ("===" under it), a list or
    # a code block of its own.
    s = re.sub(r"[ \t]*[\r\n\v\f\u2028\u2029]+[ \t]*", " ", str(text)).strip(" \t")
    s = html.escape(s, quote=False)
    s = re.sub(r"([\\`*_{}\[\]()#+!|~>])", r"\\\1", s)
    # Text opening a line must not open a list ("- x", "1. x", "1) x") or a heading.
    s = re.sub(r"^([-=])", r"\\\1", s)
    s = re.sub(r"^(\d{1,9})([.)])", r"\1\\\2", s)
    # The renderer turns a bare "scheme://" into a link; an escaped colon shows as ":".
    return re.sub(r"(?i)\b([a-z][a-z0-9+.-]*):(?=//)", r"\1\\:", s)


def _cell(x: object, decimals: int = 1) -> str:
    if x is None or (not isinstance(x, str) and pd.isna(x)):  # type: ignore[arg-type]
        return ""
    if isinstance(x, bool | np.bool_):
        return str(x)
    if isinstance(x, int | np.integer):
        return f"{int(x):,}"
    if isinstance(x, float | np.floating):
        return format_number(float(x), decimals)
    return str(x)


def _decimals(col: pd.Series) -> int:
    """No decimals for a float column of whole numbers (counts that became float beside a
    missing value: "646", not "646.0"); else one decimal place, or two where a value needs
    them (small rates such as 0.19).

    Examples
    --------
    >>> _decimals(pd.Series([646.0, None])), _decimals(pd.Series([1.5])), _decimals(pd.Series([0.19]))
    (0, 1, 2)
    """
    if not pd.api.types.is_float_dtype(col):
        return 1
    v = col.dropna().to_numpy(dtype=float)
    if len(v) and np.all(np.isfinite(v)) and np.array_equal(v, np.round(v)):
        return 0
    return 1 if np.allclose(v, np.round(v, 1)) else 2


def table_html(df: pd.DataFrame) -> str:
    """A table as accessible HTML: header cells with ``scope``, numbers right-aligned.

    Every value is escaped; whole numbers get thousands separators and other
    numbers one decimal place; missing values are blank.

    Examples
    --------
    >>> import pandas as pd
    >>> html_ = table_html(pd.DataFrame({"type": ["<b>x</b>"], "n": [1234]}))
    >>> "&lt;b&gt;" in html_ and '<td class="num">1,234</td>' in html_
    True
    """
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in df.columns]
    cls = [' class="num"' if n else "" for n in numeric]
    decimals = [_decimals(df[c]) for c in df.columns]
    head = "".join(f'<th scope="col"{k}>{html.escape(str(c))}</th>'
                   for c, k in zip(df.columns, cls, strict=True))
    rows = []
    for values in df.itertuples(index=False, name=None):
        cells = "".join(f"<td{k}>{html.escape(_cell(v, d))}</td>"
                        for v, k, d in zip(values, cls, decimals, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return (f'<table class="sa-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _disclosure_options(
    df: pd.DataFrame,
    count_columns: list[str] | None = None,
    derived: dict[str, list[str]] | None = None,
    sums: dict[str, list[str]] | None = None,
    label_column: str | None = None,
) -> dict:
    """Suppression options of a table: the arguments, else what its ``attrs`` declare."""
    return {
        "value_columns": count_columns or df.attrs.get("count_columns"),
        "derived": derived or df.attrs.get("derived"),
        "sums": sums or df.attrs.get("sums"),
        "label_column": label_column or df.attrs.get("label_column"),
    }


def disclosure_mask(df: pd.DataFrame, threshold: int, **options: object) -> pd.DataFrame:
    """Which cells of a sensitive table the public build hides (True = hidden).

    The same rules as :meth:`Publisher.table` (its options, else ``df.attrs``),
    so prose and dependent tables can withhold exactly what the table hides.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"type": ["All", "A", "B"], "n": [40, 3, 37]})
    >>> t.attrs.update(count_columns=["n"], label_column="type", sums={"All": ["A", "B"]})
    >>> disclosure_mask(t, 5)["n"].tolist()  # the total too, or All - B gives A
    [True, True, False]
    """
    from sa_lib.stats.suppression import suppression_mask

    return suppression_mask(df.reset_index(drop=True), threshold,
                            **_disclosure_options(df, **options))  # type: ignore[arg-type]


def table_metadata(path: str | Path) -> dict:
    """Read the ``tables/<name>.meta.json`` sidecar the publisher wrote for a table.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = Publisher(folder, "public").table(pd.DataFrame({"a": [1]}), "t", "A table")
    >>> table_metadata(folder / "tables" / "t.csv")["sensitive"]
    False
    """
    p = Path(path)
    if p.suffix == ".csv":
        p = p.with_suffix(".meta.json")
    return json.loads(p.read_text(encoding="utf-8"))


@dataclass
class Publisher:
    """Writes a build's tables and charts and says what to display.

    Parameters
    ----------
    output_dir : path
        The build folder (``.../official`` or ``.../public``); ``tables/`` and
        ``charts/`` are created inside it.
    audience : {"official", "public"}
        ``public`` applies disclosure control to sensitive tables and leaves
        out partner-confidential ones.
    threshold : int
        Counts from 1 to ``threshold - 1`` are suppressed in public tables.
    """

    output_dir: Path | None
    audience: Literal["official", "public"] = "official"
    threshold: int = 5
    written_tables: list[str] = field(default_factory=list)
    written_charts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.audience not in AUDIENCES:
            raise OptionError(f"audience must be one of {AUDIENCES}, got {self.audience!r}")
        if self.output_dir is not None:
            self.output_dir = Path(self.output_dir)
            # Every file goes through the build folder's gate: never through a link.
            self._gate = OutputGate(self.output_dir)
            self._gate.mkdir(self.output_dir / "tables")
            self._gate.mkdir(self.output_dir / "charts")

    @property
    def is_public(self) -> bool:
        """True in the public build."""
        return self.audience == "public"

    def table(
        self,
        df: pd.DataFrame,
        name: str,
        title: str,
        note: str = "",
        sensitive: bool = False,
        confidential: bool = False,
        count_columns: list[str] | None = None,
        derived: dict[str, list[str]] | None = None,
        index: bool = False,
        sums: dict[str, list[str]] | None = None,
        label_column: str | None = None,
        derived_from: dict | None = None,
    ) -> HTML:
        """Publish one table: write ``tables/<name>.csv`` and return it for display.

        Parameters
        ----------
        df : DataFrame
            The table as computed (full precision).
        name : str
            File name (lower case, digits and underscores).
        title : str
            Caption shown above the table (escaped).
        note : str
            Definition or caveat shown under it (escaped).
        sensitive : bool
            Small counts in ``count_columns`` are suppressed in the public build
            (with secondary suppression and no percentage from a suppressed cell).
        confidential : bool
            Partner-confidential: left out of the public build entirely.
        count_columns : list of str
            Which columns are counts (default: ``df.attrs["count_columns"]``).
        derived : dict of column -> source columns
            Columns computed from counts (differences, percentages, sentences),
            hidden where a source is hidden (default: ``df.attrs["derived"]``).
        index : bool
            Keep the index as a column.
        sums : dict of row label -> part row labels
            Rows that add up other rows (a total, a theme's "all types"), so
            secondary suppression protects them (default: ``df.attrs["sums"]``).
        label_column : str
            The column naming the rows (default: ``df.attrs["label_column"]``).
        derived_from : dict
            For a table computed from another table's counts (e.g. rates):
            ``{"table": name, "key": label column, "columns": {column: source
            count column}}`` (default: ``df.attrs["derived_from"]``); recorded
            in the metadata so a test can check both hide the same rows.

        Every table also gets ``tables/<name>.meta.json`` (written even when a
        confidential table is withheld): name, title, audience, sensitive,
        confidential, published, count_columns, derived, sums, label_column,
        derived_from, threshold, symbol, note and synthetic (the title or note
        says SYNTHETIC: the sheet of ``tables.xlsx`` says so too), with sorted keys and no timestamp,
        so each table of a build can be audited.  One file per table, because
        notebooks publish into the same folder from separate kernels.

        Examples
        --------
        >>> import pandas as pd
        >>> pub = Publisher(None)
        >>> out = pub.table(pd.DataFrame({"a": [1]}), "t", "A <b>table</b>")
        >>> "&lt;b&gt;" in out.data
        True
        """
        if not _NAME.match(name):
            raise OptionError(f"table name {name!r}: use lower case letters, digits and _")
        options = _disclosure_options(df, count_columns, derived, sums, label_column)
        withheld = confidential and self.is_public
        self._write_metadata(name, title, sensitive, confidential, not withheld, options,
                             derived_from or df.attrs.get("derived_from"), note)
        if withheld:
            return HTML(f"<p class='sa-withheld'><strong>{html.escape(title)}</strong>: "
                        "partner-confidential, shown in the official report only.</p>")
        shown = df.reset_index() if index else df.reset_index(drop=True)
        if sensitive and self.is_public:
            from sa_lib.stats.disclosure import render_table

            shown = render_table(shown, audience="public", threshold=self.threshold,
                                 **options)  # type: ignore[arg-type]
        if self.output_dir is not None:
            with self._gate.open(self.output_dir / "tables" / f"{name}.csv", "w",
                                 encoding="utf-8", newline="") as fh:
                spreadsheet_safe(shown).to_csv(fh, index=False, lineterminator="\n")
        self.written_tables.append(name)
        body = table_html(shown)
        cap = f"<p class='sa-caption'><strong>{html.escape(title)}</strong></p>"
        foot = f"<p class='sa-note'>{html.escape(note)}</p>" if note else ""
        return HTML(cap + body + foot)

    def _write_metadata(self, name: str, title: str, sensitive: bool, confidential: bool,
                        published: bool, options: dict, derived_from: dict | None,
                        note: str = "") -> None:
        if self.output_dir is None:
            return
        derived = options["derived"] or {}
        meta = {
            "name": name, "title": title, "audience": self.audience,
            "sensitive": bool(sensitive), "confidential": bool(confidential),
            "published": published,
            "count_columns": list(options["value_columns"] or []),
            "derived": {str(k): ([v] if isinstance(v, str) else list(v))
                        for k, v in derived.items()},
            "sums": {str(k): [str(x) for x in v] for k, v in (options["sums"] or {}).items()},
            "label_column": options["label_column"],
            "derived_from": derived_from,
            "threshold": self.threshold, "symbol": f"<{self.threshold}",
            # Tables built from synthetic inputs say SYNTHETIC in their title or note.
            "note": note, "synthetic": "SYNTHETIC" in f"{title} {note}",
        }
        text = json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        self._gate.write_text(self.output_dir / "tables" / f"{name}.meta.json", text)

    def chart(self, chart: Chart | None, name: str) -> Image | HTML | None:
        """Publish one chart: write ``charts/<name>.png`` and return it with its alt text.

        In the public build a chart whose ``counts`` include one from 1 to
        ``threshold - 1`` is withheld (no PNG, no alt text): its bars, points and
        alt text would show what the tables suppress.  ``None`` (a chapter with no
        chart because an optional input is missing; its text says so) writes and
        shows nothing.
        """
        if not _NAME.match(name):
            raise OptionError(f"chart name {name!r}: use lower case letters, digits and _")
        if chart is None:
            return None
        if self.is_public and chart.counts is not None:
            counts = np.asarray(chart.counts, dtype=float)
            if ((counts > 0) & (counts < self.threshold)).any():
                self._write_chart_metadata(chart, name, published=False)
                return HTML(f"<p class='sa-withheld'><strong>Chart withheld</strong>: "
                            f"{html.escape(name.replace('_', ' '))} would show counts below "
                            f"{self.threshold}, so it is in the official report only.</p>")
        png = chart.to_png()
        if self.output_dir is not None:
            self._gate.write_bytes(self.output_dir / "charts" / f"{name}.png", png)
        self.written_charts.append(name)
        self._write_chart_metadata(chart, name, published=True)
        return Image(data=png, format="png", metadata={"alt": chart.alt_text})

    def _write_chart_metadata(self, chart: Chart, name: str, published: bool) -> None:
        """``charts/<name>.meta.json``: the counts a reader can read off the chart (or why
        it shows none), so every public chart can be audited like the tables."""
        if self.output_dir is None:
            return
        meta = {"name": name, "audience": self.audience, "published": published,
                "counts": None if chart.counts is None else [float(x) for x in chart.counts],
                "no_counts": chart.no_counts, "threshold": self.threshold}
        text = json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        self._gate.write_text(self.output_dir / "charts" / f"{name}.meta.json", text)

    def tables(self, specs: list) -> None:
        """Publish and display several tables (``TableSpec`` objects), in order.

        ``None`` items (a table a missing optional input leaves out) are skipped.
        """
        from IPython.display import display

        for spec in specs:
            if spec is None:
                continue
            display(self.table(spec.df, spec.name, spec.title, note=spec.note,
                               sensitive=spec.sensitive, confidential=spec.confidential))

    def charts(self, items: list[tuple[str, Chart]]) -> None:
        """Publish and display several charts given as ``(name, chart)`` pairs, in order."""
        from IPython.display import display

        for name, chart in items:
            display(self.chart(chart, name))

    @staticmethod
    def text(markdown: str) -> Markdown:
        """Display generated prose (already built from escaped values)."""
        return Markdown(markdown)
