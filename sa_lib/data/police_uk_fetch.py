"""``sa fetch``: one force's street files from the data.police.uk monthly archives.

data.police.uk publishes one archive a month (``<base>/YYYY-MM.zip``, 1-2 GB) holding the
last 36 months of every force: ``YYYY-MM/YYYY-MM-<force>-street.csv`` plus outcomes and
stop-and-search files.  :func:`fetch_police_uk` keeps only one force's street files for the
months asked, written as ``<out>/YYYY-MM/YYYY-MM-<force>-street.csv`` exactly as published
(the layout :func:`sa_lib.data.police_uk.find_street_files` reads):

* **fewest archives**: the newest month still needed is taken from the earliest archive that
  holds it (the archive for month M holds M-35..M), which also holds the 35 months before it;
  the archive index (``<base>``) says which archives exist;
* **only the bytes needed**: the zip's central directory and the force's members are read
  with HTTP range requests (:mod:`sa_lib.data.police_uk_remote`); a server that ignores
  ranges gets the whole archive downloaded to a ``.part`` file under the cache folder
  (continued after a break where the server allows), deleted once read;
* **checked**: each file's size and CRC-32 must match the zip's central directory and its
  header must be the police.uk street columns; a file failing either is not kept;
* **resumable**: every file is written to a temporary name and renamed, and recorded with its
  size and CRC-32 in ``<out>/.sa-fetch.json``; a rerun skips every month already present and
  checked (with no network access at all when nothing is left to fetch);
* a month no archive holds is reported, not an error for the others.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import json
import os
import re
import sys
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sa_lib.data.police_uk_cache import default_cache_dir
from sa_lib.data.police_uk_file import POLICE_UK_COLUMNS
from sa_lib.data.police_uk_remote import DEFAULT_BASE_URL, FetchError, Http, RemoteFile
from sa_lib.errors import DataValidationError, OptionError, Problem, SAError
from sa_lib.paths import DATA_DIR
from sa_lib.rounding import format_number

__all__ = ["FetchResult", "archives_needed", "fetch_police_uk", "resolve_force"]

#: The manifest of the files ``sa fetch`` wrote in an output folder.
MANIFEST = ".sa-fetch.json"
#: How many months one archive holds (the archive for month M: M-35..M).
ARCHIVE_MONTHS = 36
#: The most bytes of one member asked for in one request (a larger one is read in pieces).
PREFETCH_MAX = 64 << 20
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_MEMBER = re.compile(r"^(\d{4}-\d{2})-([a-z0-9-]+?)-(street|outcomes|stop-and-search)\.csv$")
_INDEX_LINK = re.compile(r"(\d{4}-(?:0[1-9]|1[0-2]))\.zip\b")
# Words of a force's display name that its police.uk slug leaves out.
_NAME_WORDS = re.compile(r"\b(police|service|constabulary|force)\b")
_ALIASES = {"met": "metropolitan", "metropolitan-london": "metropolitan",
            "british-transport": "btp", "psni": "northern-ireland"}


@dataclass
class FetchResult:
    """What :func:`fetch_police_uk` did.

    Attributes
    ----------
    force : str
        The force's police.uk slug (``leicestershire``).
    out : Path
        The folder the street files are in.
    fetched, skipped : list of str
        Months written now, and months already present and checked.
    missing : dict
        Month -> why no archive gave it.
    failed : list of Problem
        Files that failed their checks (not kept).
    archives : list of str
        The archives read (``YYYY-MM``).
    downloaded : int
        Bytes received from the server.

    Examples
    --------
    >>> r = FetchResult("kent", Path("data/police_uk/kent"), fetched=["2024-01"],
    ...                 missing={"2010-01": "no archive holds it"})
    >>> print(r.summary())
    kent: 1 month(s) fetched, 0 skipped (already present), 1 missing -> data/police_uk/kent
    """

    force: str
    out: Path
    fetched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    failed: list[Problem] = field(default_factory=list)
    archives: list[str] = field(default_factory=list)
    downloaded: int = 0

    def summary(self) -> str:
        """One line: months fetched, skipped and missing, and where the files are."""
        line = (f"{self.force}: {len(self.fetched)} month(s) fetched, {len(self.skipped)} "
                f"skipped (already present), {len(self.missing)} missing")
        if self.failed:
            line += f", {len(self.failed)} failed their checks"
        line += f" -> {self.out}"
        if self.archives:
            line += (f" ({format_number(self.downloaded / 1e6)} MB read from {len(self.archives)} "
                     f"archive(s): {', '.join(self.archives)})")
        return line

    def missing_lines(self) -> list[str]:
        """One line per reason, naming the missing months (runs of months as ``A..B``)."""
        by_reason: dict[str, list[str]] = {}
        for month in sorted(self.missing):
            by_reason.setdefault(self.missing[month], []).append(month)
        return [f"missing: {_runs(months)}: {reason}" for reason, months in by_reason.items()]

    def check(self) -> None:
        """Raise :class:`DataValidationError` listing every file that failed its checks."""
        if self.failed:
            raise DataValidationError(self.failed)


def _ordinal(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month(ordinal: int) -> str:
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


def _runs(months: list[str]) -> str:
    """``["2020-01", "2020-02", "2020-05"]`` -> ``"2020-01..2020-02, 2020-05"``."""
    out: list[list[str]] = []
    for m in months:
        if out and _ordinal(m) == _ordinal(out[-1][-1]) + 1:
            out[-1].append(m)
        else:
            out.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in out)


def _months(first: str, last: str) -> list[str]:
    for option, value in (("--from", first), ("--to", last)):
        if not isinstance(value, str) or not _MONTH.match(value):
            raise OptionError(f"{option} {value!r} is not a month; expected YYYY-MM, e.g. 2022-10")
    if first > last:
        raise OptionError(f"--from {first} is after --to {last}; expected --from <= --to")
    return [_month(o) for o in range(_ordinal(first), _ordinal(last) + 1)]


def _next_archive(month: str, available: set[str] | None, tried: set[str]) -> str | None:
    """The earliest archive not yet tried that may hold ``month`` (None: there is none)."""
    if available is None:
        return None if month in tried else month
    top = _month(_ordinal(month) + ARCHIVE_MONTHS - 1)
    return min((a for a in available if month <= a <= top and a not in tried), default=None)


def archives_needed(first: str, last: str, available: Iterable[str] | None = None) -> list[str]:
    """The fewest archives holding every month from ``first`` to ``last``, newest first.

    Each archive is taken to hold its own month and the 35 before it; ``available`` (the
    archives the server has) limits the choice, and months no available archive holds are
    left out.

    Parameters
    ----------
    first, last : str
        The months wanted, ``YYYY-MM``.
    available : iterable of str, optional
        The archives that exist (default: every month's).

    Examples
    --------
    >>> archives_needed("2021-11", "2022-10")
    ['2022-10']
    >>> archives_needed("2019-01", "2022-10")
    ['2022-10', '2019-10']
    >>> archives_needed("2022-01", "2022-10", available=["2022-06", "2023-03"])
    ['2023-03']
    """
    pending = _months(first, last)
    pool = None if available is None else set(available)
    tried: set[str] = set()
    chosen = []
    while pending:
        archive = _next_archive(pending[-1], pool, tried)
        if archive is None:
            pending.pop()
            continue
        tried.add(archive)
        chosen.append(archive)
        low = _month(_ordinal(archive) - ARCHIVE_MONTHS + 1)
        pending = [m for m in pending if not low <= m <= archive]
    return chosen


def _normalise(name: str) -> str:
    text = name.strip().lower().replace("&", " and ")
    text = _NAME_WORDS.sub(" ", text)
    slug = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    slug = re.sub(r"^(of|the)-", "", slug)
    return _ALIASES.get(slug, slug)


def resolve_force(name: str, slugs: Iterable[str]) -> str:
    """The police.uk slug of a force named by its slug or its display name.

    Parameters
    ----------
    name : str
        ``"leicestershire"``, ``"Leicestershire Police"``, ``"Metropolitan Police Service"``...
        (case does not matter).
    slugs : iterable of str
        The forces' slugs, as the archive's file names spell them.

    Raises
    ------
    OptionError
        No force has that name; the nearest slugs are suggested.

    Examples
    --------
    >>> forces = ["avon-and-somerset", "kent", "leicestershire", "metropolitan"]
    >>> resolve_force("Metropolitan Police Service", forces)
    'metropolitan'
    >>> resolve_force("Avon & Somerset Constabulary", forces)
    'avon-and-somerset'
    >>> resolve_force("Leicester", forces)
    Traceback (most recent call last):
    ...
    sa_lib.errors.OptionError: --force 'Leicester' is not a police.uk force; did you mean leicestershire?
    """
    known = sorted(set(slugs))
    slug = _normalise(name)
    if slug in known:
        return slug
    near = difflib.get_close_matches(slug, known, n=3, cutoff=0.5)
    near += [s for s in known if slug and (slug in s or s in slug) and s not in near][:3]
    hint = (f"did you mean {' or '.join(near[:3])}?" if near
            else f"the forces are: {', '.join(known)}")
    raise OptionError(f"--force {name!r} is not a police.uk force; {hint}")


# ---------------------------------------------------------------------------- local files
def _file_crc(path: Path) -> tuple[int, int]:
    crc, size = 0, 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            crc, size = zlib.crc32(chunk, crc), size + len(chunk)
    return size, crc


def _header_problem(head: bytes) -> str | None:
    """Why ``head`` (a file's first bytes) is not a police.uk street file; None when it is."""
    lines = head.decode("utf-8-sig", errors="replace").splitlines()
    cols = [c.strip() for c in next(csv.reader(lines[:1]), [])]
    if set(cols) == set(POLICE_UK_COLUMNS) and len(cols) == len(POLICE_UK_COLUMNS):
        return None
    return (f"header {','.join(cols)[:120]!r} is not the police.uk street columns "
            f"({','.join(POLICE_UK_COLUMNS)})")


def _read_manifest(out: Path) -> dict:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else {}
    except (OSError, ValueError):
        return {}


def _write_manifest(out: Path, manifest: dict) -> None:
    tmp = out / f"{MANIFEST}.tmp"
    try:
        tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, out / MANIFEST)
    except OSError as exc:
        raise SAError(f"{out / MANIFEST}: cannot be written ({exc.strerror or exc})") from None


def _present(out: Path, existing: dict[str, Path], manifest: dict, name: str) -> bool:
    """Whether the street file ``name`` is in ``out`` and checked."""
    if name + ".gz" in existing:
        return True  # the analyst's own compressed copy
    path = existing.get(name)
    if path is None:
        return False
    entry = manifest.get("files", {}).get(path.relative_to(out).as_posix())
    if entry:  # written by sa fetch: size and CRC-32 must still be what was checked
        return (path.stat().st_size == entry.get("size")
                and f"{_file_crc(path)[1]:08x}" == entry.get("crc32"))
    with path.open("rb") as fh:
        return _header_problem(fh.read(1 << 16)) is None


# ---------------------------------------------------------------------------- archives
@dataclass
class _Archive:
    zip: zipfile.ZipFile
    remote: RemoteFile | None
    months: set[str]
    forces: set[str]
    street: dict[tuple[str, str], zipfile.ZipInfo]


def _list(zf: zipfile.ZipFile, remote: RemoteFile | None) -> _Archive:
    """The months and forces an archive holds (any kind of file), and its street files."""
    months, forces, street = set(), set(), {}
    for info in zf.infolist():
        m = _MEMBER.match(info.filename.rsplit("/", 1)[-1])
        if m:
            months.add(m.group(1))
            forces.add(m.group(2))
            if m.group(3) == "street":
                street[m.group(1), m.group(2)] = info
    return _Archive(zf, remote, months, forces, street)


@contextmanager
def _open_archive(http: Http, url: str, cache: Path, progress: bool | None
                  ) -> Iterator[_Archive | int]:
    """The archive at ``url`` (read remotely, or downloaded whole); its HTTP status if absent."""
    done = cache / f"{hashlib.sha256(url.encode()).hexdigest()[:12]}-{url.rsplit('/', 1)[-1]}"
    part = done.with_name(done.name + ".part")
    if not done.exists():
        kind, size, where, block = http.tail(url)
        if kind == "absent":
            yield int(size)
            return
        if kind == "range":
            remote = RemoteFile(http, str(where), int(size), block)
            with _zip(remote, url) as zf:
                yield _list(zf, remote)
            return
        from tqdm.auto import tqdm

        with tqdm(total=size if size > 0 else None, unit="B", unit_scale=True, file=sys.stderr,
                  desc=f"{url.rsplit('/', 1)[-1]} (whole archive)",
                  disable=None if progress is None else not progress) as bar:
            def show(held: int, total: int | None) -> None:
                bar.total = total
                bar.update(held - bar.n)
            http.download(url, part, first=where, on_progress=show)  # type: ignore[arg-type]
    try:
        with _zip(done, url) as zf:
            yield _list(zf, None)
    except FetchError:  # not a zip: downloaded again next time
        done.unlink(missing_ok=True)
        raise
    # Read (each member checked): removed. After a break it stays, for the rerun to read.
    done.unlink(missing_ok=True)


@contextmanager
def _zip(source: RemoteFile | Path, url: str) -> Iterator[zipfile.ZipFile]:
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise FetchError(f"{url} is not a readable zip archive ({exc}); check --base-url") from None
    with zf:
        yield zf


def _extract(archive: _Archive, info: zipfile.ZipInfo, target: Path, url: str
             ) -> Problem | None:
    """Write one member to ``target`` (temporary name, then renamed) once it passes its checks."""
    where = f"{url} member {info.filename}"
    if archive.remote is not None:  # the member's header and bytes in one request
        span = 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size + 1024
        archive.remote.prefetch(info.header_offset, min(span, PREFETCH_MAX))
    tmp = target.with_name(f".{target.name}.part")
    crc, size, head = 0, 0, b""
    try:
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.zip.open(info) as src, tmp.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
                    crc, size = zlib.crc32(chunk, crc), size + len(chunk)
                    head += chunk[:max(0, (1 << 16) - len(head))]
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
            return Problem(where, None, None, f"is corrupt ({exc}); the file was not kept: "
                                              "run the command again")
        except OSError as exc:
            raise SAError(f"{target}: cannot be written ({exc.strerror or exc}); check --out "
                          "and the free space") from None
        if size != info.file_size or crc != info.CRC:
            return Problem(where, None, None,
                           f"size {size} and CRC-32 {crc:08x} do not match the archive's "
                           f"{info.file_size} and {info.CRC:08x} (a corrupt download); the file "
                           "was not kept: run the command again")
        bad = _header_problem(head)
        if bad:
            return Problem(where, 1, None, f"{bad}; the file was not kept")
        os.replace(tmp, target)
        return None
    finally:
        if archive.remote is not None:
            archive.remote.forget()
        tmp.unlink(missing_ok=True)


def _archive_index(http: Http, base: str) -> set[str] | None:
    """The archives listed on the index page at ``base``; None when it lists none."""
    text = http.read_text(base)
    found = set(_INDEX_LINK.findall(text or ""))
    return found or None


# ---------------------------------------------------------------------------- the command
def fetch_police_uk(force: str, first: str, last: str, out: str | Path | None = None, *,
                    base_url: str | None = None, progress: bool | None = None,
                    timeout: float = 60.0) -> FetchResult:
    """Download one force's street files for ``first``..``last`` from the data.police.uk archives.

    Parameters
    ----------
    force : str
        The force's police.uk slug or display name (``leicestershire``, ``"Kent Police"``).
    first, last : str
        The months wanted, ``YYYY-MM``.
    out : path, optional
        Where the files go (default ``data/police_uk/<force>``), as
        ``YYYY-MM/YYYY-MM-<force>-street.csv``.
    base_url : str, optional
        Where the archives are (default ``$SA_POLICE_UK_URL`` or
        ``https://data.police.uk/data/archive/``): ``<base>/YYYY-MM.zip``, and an index page
        at ``<base>`` linking them (optional; without it each month's archive is tried).
    progress : bool, optional
        Show progress bars (default: when stderr is a terminal).
    timeout : float
        Seconds to wait for the server at each step.

    Returns
    -------
    FetchResult
        Months fetched, skipped and missing; files that failed their checks are listed in
        ``failed`` (and :meth:`FetchResult.check` raises for them), not kept.

    Raises
    ------
    OptionError
        A month is not ``YYYY-MM``, ``first`` is after ``last``, or the force is unknown (the
        nearest names are suggested).
    FetchError
        The server cannot be reached or answers with an error (one line; the files already
        written are kept, and a rerun continues from them).

    Examples
    --------
    >>> result = fetch_police_uk("leicestershire", "2021-11", "2022-10")  # doctest: +SKIP
    >>> print(result.summary())  # doctest: +SKIP
    leicestershire: 12 month(s) fetched, 0 skipped (already present), 0 missing -> ...

    Months are checked before anything is asked of the server:

    >>> fetch_police_uk("kent", "2022-10", "2021-11")
    Traceback (most recent call last):
    ...
    sa_lib.errors.OptionError: --from 2022-10 is after --to 2021-11; expected --from <= --to
    """
    months = _months(first, last)
    base = (base_url or os.environ.get("SA_POLICE_UK_URL") or DEFAULT_BASE_URL).rstrip("/") + "/"
    if not re.match(r"^https?://", base):
        raise OptionError(f"--base-url {base!r} is not an http(s) address; expected e.g. "
                          f"{DEFAULT_BASE_URL}")
    slug = _normalise(force)
    result = FetchResult(slug, Path(out) if out else DATA_DIR / "police_uk" / slug)
    pending = _still_needed(result, months)
    if not pending:
        return result
    from tqdm.auto import tqdm

    http = Http(timeout=timeout)
    available = _archive_index(http, base)
    tried: set[str] = set()
    bar = tqdm(total=len(pending), unit="file", file=sys.stderr, desc="street files",
               disable=None if progress is None else not progress)
    try:
        while pending:
            newest = max(pending)
            archive = _next_archive(newest, available, tried)
            if archive is None:
                result.missing[newest] = f"no archive on {base} holds it"
                pending.discard(newest)
                bar.update(1)
                continue
            tried.add(archive)
            url = f"{base}{archive}.zip"
            with _open_archive(http, url, default_cache_dir() / "archives", progress) as opened:
                if isinstance(opened, int):
                    result.missing[newest] = f"{url} is not there (HTTP {opened})"
                    pending.discard(newest)
                    bar.update(1)
                    continue
                if result.force not in opened.forces:
                    resolve_force(force, opened.forces)  # raises, suggesting the nearest
                result.archives.append(archive)
                done = _take(result, opened, url, archive, sorted(pending & opened.months), bar)
                pending -= done
                bar.set_postfix_str(f"{format_number(http.downloaded / 1e6)} MB")
    finally:
        bar.close()
        result.downloaded = http.downloaded
        result.fetched.sort()
    return result


def _still_needed(result: FetchResult, months: list[str]) -> set[str]:
    """The months not yet present and checked in ``result.out`` (the others are skipped)."""
    out = result.out
    existing = ({p.name: p for p in out.rglob("*-street.csv*") if p.is_file()}
                if out.is_dir() else {})
    manifest = _read_manifest(out)
    present = {m for m in months
               if _present(out, existing, manifest, f"{m}-{result.force}-street.csv")}
    result.skipped = sorted(present)
    return set(months) - present


def _take(result: FetchResult, archive: _Archive, url: str, name: str, wanted: list[str],
          bar: object) -> set[str]:
    """Fetch the force's files for ``wanted`` (months the archive holds); the months settled."""
    out = result.out
    manifest = _read_manifest(out)
    manifest.setdefault("files", {})
    for month in wanted:
        info = archive.street.get((month, result.force))
        if info is None:
            result.missing[month] = (f"{name}.zip holds no {result.force} street file for it "
                                     "(the force published none)")
        else:
            target = out / month / f"{month}-{result.force}-street.csv"
            problem = _extract(archive, info, target, url)
            if problem is not None:
                result.failed.append(problem)
            else:
                result.fetched.append(month)
                manifest["force"] = result.force
                manifest["files"][f"{month}/{target.name}"] = {
                    "size": info.file_size, "crc32": f"{info.CRC:08x}", "archive": url}
                _write_manifest(out, manifest)
        bar.update(1)  # type: ignore[attr-defined]
    return set(wanted)
