"""The one gate for every write, replace and delete under the outputs folder.

A report folder lives on shared drives and is copied between machines, so what
a run finds there is not trusted: a folder may be a link to the raw data or to
a colleague's files.  Every path the runner, the publisher and recovery create,
rename, replace or remove goes through an :class:`OutputGate`:

* the path must lie inside the gate's root once ``..`` is resolved;
* no part of it below the root may be a symbolic link, so nothing is ever
  written, renamed or deleted *through* a link, and a link's target is never
  deleted (``shutil.rmtree`` removes links inside a tree without following them);
* a refused path raises :class:`~sa_lib.errors.OutputError` naming it, before
  anything is touched (the ``sa`` command prints that one line and exits 2).

The root itself is resolved once (``SA_OUTPUTS_DIR`` may be a link to a shared
drive); only what lies below it is held to the rule.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sa_lib.errors import OutputError

__all__ = ["OutputGate", "BUILD_MARKER"]

#: Written into every staging folder the runner makes, so that recovery deletes only
#: folders this program made (a journal or a folder name alone is never enough).
BUILD_MARKER = ".sa-build.json"
BUILD_MARKER_TEXT = ('{"made_by": "the Strategic Assessment Workbook runner (sa run)", '
                     '"what": "a report folder, or the staging folder of one"}\n')


class OutputGate:
    """Checks and performs every write, replace and delete below one root folder.

    Parameters
    ----------
    root : path
        The folder writes are confined to (the outputs folder, or one area's folder).
        It is resolved once; links below it are refused.

    Examples
    --------
    >>> import tempfile
    >>> gate = OutputGate(tempfile.mkdtemp())
    >>> p = gate.write_text(gate.root / "a" / "b.txt", "hello")
    >>> p.read_text()
    'hello'
    >>> gate.check(gate.root / ".." / "elsewhere.txt")
    Traceback (most recent call last):
    ...
    sa_lib.errors.OutputError: ... is outside the outputs folder ...
    """

    def __init__(self, root: str | Path) -> None:
        given = Path(os.path.abspath(root))
        self.root = Path(os.path.realpath(given))
        self._spellings = {given, self.root}

    def __repr__(self) -> str:
        return f"OutputGate({str(self.root)!r})"

    # ------------------------------------------------------------------ checks
    def _relative(self, path: str | Path) -> tuple[str, ...]:
        p = Path(os.path.abspath(path))
        for base in self._spellings:
            if p == base:
                return ()
            if p.is_relative_to(base):
                return p.relative_to(base).parts
        raise OutputError(f"{path} is outside the outputs folder {self.root}; a run writes and "
                          "deletes only inside it (refused, nothing was touched)")

    def check(self, path: str | Path) -> Path:
        """The path, spelt from the resolved root, once it is inside the root with no link in it.

        Raises
        ------
        OutputError
            The path leaves the root, or a folder or file on the way is a symbolic link.
        """
        parts = self._relative(path)
        here = self.root
        for part in parts:
            here = here / part
            if os.path.islink(here):
                raise OutputError(
                    f"{here} is a symbolic link (to {os.readlink(here)}); a run never writes or "
                    f"deletes through a link inside the outputs folder {self.root}: remove the "
                    "link (SA_OUTPUTS_DIR puts reports elsewhere); refused, nothing was touched")
            if not os.path.lexists(here):
                break
        return self.root.joinpath(*parts)

    def links_below(self, folder: str | Path) -> list[Path]:
        """Every symbolic link inside ``folder`` (not followed), for a check before a run."""
        start = self.check(folder)
        found = []
        for dirpath, dirnames, filenames in os.walk(start, followlinks=False):
            for name in [*dirnames, *filenames]:
                p = Path(dirpath) / name
                if os.path.islink(p):
                    found.append(p)
        return sorted(found)

    def refuse_links(self, folder: str | Path) -> None:
        """Raise :class:`OutputError` naming every link inside ``folder`` (and on the way to it)."""
        start = self.check(folder)
        links = self.links_below(start) if os.path.isdir(start) else []
        if links:
            shown = "; ".join(f"{p} -> {os.readlink(p)}" for p in links[:5])
            more = f" and {len(links) - 5} more" if len(links) > 5 else ""
            raise OutputError(
                f"{len(links)} symbolic link(s) inside {start}: {shown}{more}; a run "
                "never writes or deletes through a link inside the outputs folder: remove them "
                "(SA_OUTPUTS_DIR puts reports elsewhere); refused, nothing was touched")

    # ------------------------------------------------------------------ actions
    def mkdir(self, path: str | Path) -> Path:
        """Create a folder and its parents, refusing any link on the way."""
        target = self.check(path)
        self.root.mkdir(parents=True, exist_ok=True)  # the root itself is trusted
        here = self.root
        for part in target.relative_to(self.root).parts:
            here = here / part
            try:
                here.mkdir()
            except FileExistsError:
                pass
            self.check(here)
            if not here.is_dir():
                raise OutputError(f"{here} is a file where a folder is needed; refused")
        return target

    @contextmanager
    def open(self, path: str | Path, mode: str = "w", **kwargs: object) -> Iterator[IO]:
        """Open a new file for writing (``w``, ``wb``, ``x`` or ``xb``) inside the root.

        Never through a link: ``w`` replaces an existing file by a new one rather than
        truncating it, so a hard link planted there keeps its bytes.
        """
        if mode not in ("w", "wb", "x", "xb"):
            raise ValueError(f"OutputGate.open is for writing; got mode {mode!r}")
        target = self.check(path)
        self.mkdir(target.parent)
        if mode.startswith("w") and os.path.lexists(target) and not os.path.isdir(target):
            # Always a new file: truncating in place would write through a hard link.
            os.unlink(target)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o666)
        with open(fd, mode.replace("x", "w"), **kwargs) as fh:  # type: ignore[call-overload]
            yield fh

    def write_text(self, path: str | Path, text: str, encoding: str = "utf-8") -> Path:
        """Write text to a file inside the root (never through a link)."""
        with self.open(path, "w", encoding=encoding) as fh:
            fh.write(text)
        return self.check(path)

    def write_bytes(self, path: str | Path, data: bytes) -> Path:
        """Write bytes to a file inside the root (never through a link)."""
        with self.open(path, "wb") as fh:
            fh.write(data)
        return self.check(path)

    def copy(self, source: str | Path, path: str | Path) -> Path:
        """Copy a file's bytes (and times) to a file inside the root."""
        target = self.write_bytes(path, Path(source).read_bytes())
        shutil.copystat(source, target, follow_symlinks=False)
        return target

    def replace(self, source: str | Path, path: str | Path) -> Path:
        """Rename ``source`` to ``path`` (both inside the root), replacing a file there."""
        src, dst = self.check(source), self.check(path)
        os.replace(src, dst)
        return dst

    def rename(self, source: str | Path, path: str | Path) -> Path:
        """Rename a file or folder inside the root; refused if ``path`` exists."""
        src, dst = self.check(source), self.check(path)
        if os.path.lexists(dst):
            raise OutputError(f"{dst} already exists; refused to rename {src} over it")
        os.rename(src, dst)
        return dst

    def unlink(self, path: str | Path, missing_ok: bool = True) -> None:
        """Delete a file inside the root (a link there is refused, not followed or removed)."""
        self.check(path).unlink(missing_ok=missing_ok)

    def rmtree(self, path: str | Path, ignore_errors: bool = False) -> None:
        """Delete a folder inside the root; links inside it are removed, never followed."""
        target = self.check(path)
        if target == self.root:
            raise OutputError(f"refused to delete the whole outputs folder {target}")
        if os.path.lexists(target):
            shutil.rmtree(target, ignore_errors=ignore_errors)

    def mark_build(self, folder: str | Path) -> Path:
        """Make a staging folder and write :data:`BUILD_MARKER` in it."""
        target = self.mkdir(folder)
        self.write_text(target / BUILD_MARKER, BUILD_MARKER_TEXT)
        return target

    def is_marked_build(self, folder: str | Path) -> bool:
        """Whether ``folder`` is a real folder inside the root that this program made."""
        try:
            target = self.check(folder)
        except OutputError:
            return False
        marker = target / BUILD_MARKER
        return (target.is_dir() and not os.path.islink(target) and marker.is_file()
                and not os.path.islink(marker))
