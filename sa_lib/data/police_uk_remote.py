"""HTTP access to the data.police.uk archives, for ``sa fetch``.

A monthly archive (``https://data.police.uk/data/archive/YYYY-MM.zip``) is 1-2 GB, and one
force's street files are a few MB of it.  :class:`RemoteFile` is a read-only, seekable file
over HTTP range requests, so :mod:`zipfile` reads the end-of-central-directory record, the
central directory and then only the members asked for.  When the server does not honour
ranges, :meth:`Http.download` fetches the whole archive into a ``.part`` file, resuming it
with a range request after a break where the server allows.

Every network failure becomes one :class:`FetchError` line naming the address and the reason
(``cannot reach ... (reason); check your connection or proxy``); transient ones (a server
error, a dropped connection, a timeout) are retried first.  Only the standard library is used.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sa_lib.errors import SAError

__all__ = ["FetchError"]  # Http and RemoteFile serve sa_lib.data.police_uk_fetch

#: Where the monthly archives are published (``--base-url`` or ``SA_POLICE_UK_URL`` override it).
DEFAULT_BASE_URL = "https://data.police.uk/data/archive/"
#: Bytes read from the end of an archive first: the end-of-central-directory record, its
#: comment (at most 64 KiB) and the ZIP64 locator all fit.
TAIL_BYTES = 1 << 17
#: A read outside the bytes already held fetches at least this much (sequential reads of a
#: large member then take few requests).
READ_AHEAD = 8 << 20
#: Pauses before each retry of a transient failure (tests set them to zero).
RETRY_DELAYS: tuple[float, ...] = (1.0, 4.0)
_CHUNK = 1 << 20
_USER_AGENT = "sa-workbook (sa fetch; Strategic Assessment Workbook)"
_CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$|^bytes\s+\*/(\d+)$")


class FetchError(SAError):
    """The archive server could not be reached, or answered with an error.

    Examples
    --------
    >>> str(FetchError.unreachable("https://example.org/a.zip", "connection refused"))
    'cannot reach https://example.org/a.zip (connection refused); check your connection or proxy'
    """

    @classmethod
    def unreachable(cls, url: str, reason: str) -> FetchError:
        """The one-line message for a failed request to ``url``."""
        return cls(f"cannot reach {url} ({reason}); check your connection or proxy")


class _Transient(Exception):
    """A failure worth retrying; ``reason`` is what the user is told if retries run out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reason(exc: BaseException) -> str:
    """A short, readable reason for a network exception."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}".strip()
    if isinstance(exc, urllib.error.URLError):
        inner = exc.reason
        if isinstance(inner, OSError) and inner.strerror:
            return inner.strerror
        return str(inner)
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, http.client.IncompleteRead):
        return "the connection closed before the end of the data"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code == 429
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    return isinstance(exc, socket.timeout | TimeoutError | ConnectionResetError
                      | ConnectionAbortedError | BrokenPipeError | http.client.HTTPException)


def content_range(header: str | None) -> tuple[int | None, int | None, int | None]:
    """``(first, last, total)`` of a ``Content-Range`` header; ``None`` where absent.

    Examples
    --------
    >>> content_range("bytes 100-199/1000")
    (100, 199, 1000)
    >>> content_range("bytes */1000")
    (None, None, 1000)
    >>> content_range(None)
    (None, None, None)
    """
    m = _CONTENT_RANGE.match((header or "").strip())
    if not m:
        return None, None, None
    if m.group(4):
        return None, None, int(m.group(4))
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


@dataclass
class Http:
    """Requests to the archive server: retries, one-line errors and a count of bytes read.

    Parameters
    ----------
    timeout : float
        Seconds to wait for the server at each step of a request.
    retries : int
        How many times a transient failure (server error, dropped connection, timeout) is
        retried, after the pauses in :data:`RETRY_DELAYS`.

    Examples
    --------
    >>> Http(timeout=5).downloaded
    0
    """

    timeout: float = 60.0
    retries: int = 2
    downloaded: int = 0
    on_bytes: Callable[[int], None] | None = field(default=None, repr=False)

    def _count(self, n: int) -> None:
        self.downloaded += n
        if self.on_bytes is not None:
            self.on_bytes(n)

    def _open_once(self, request: urllib.request.Request, ok: tuple[int, ...]
                   ) -> http.client.HTTPResponse | urllib.error.HTTPError:
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return exc
            raise

    def _with_retries(self, url: str, attempt: Callable[[], object]) -> object:
        delays = list(RETRY_DELAYS[:self.retries])
        while True:
            try:
                return attempt()
            except _Transient as exc:
                if not delays:
                    raise FetchError.unreachable(url, exc.reason) from None
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                if not (_is_transient(exc) and delays):
                    raise FetchError.unreachable(url, _reason(exc)) from None
            time.sleep(delays.pop(0))

    def tail(self, url: str, length: int | None = None
             ) -> tuple[str, int, str | int | http.client.HTTPResponse, tuple[int, bytes]]:
        """Ask for the last ``length`` (default :data:`TAIL_BYTES`) bytes of the file at ``url``.

        Returns
        -------
        tuple
            ``("range", size, final_url, (start, bytes))`` when the server honours ranges
            (``final_url``: the address after redirects); ``("whole", size or -1, response,
            (0, b""))`` when it sends the whole file instead (the open response is for
            :meth:`download`); ``("absent", status, url, (0, b""))`` when there is no such
            file (HTTP 403, 404 or 410).
        """
        def attempt() -> tuple:
            want = length or TAIL_BYTES
            response = self._open_once(_request(url, {"Range": f"bytes=-{want}"}),
                                       ok=(403, 404, 410))
            if isinstance(response, urllib.error.HTTPError):
                response.close()
                return "absent", response.code, url, (0, b"")
            if response.status != 206:
                size = response.headers.get("Content-Length")
                return "whole", int(size) if size and size.isdigit() else -1, response, (0, b"")
            with response:
                first, last, total = content_range(response.headers.get("Content-Range"))
                if first is None or total is None:
                    raise FetchError(f"{url}: the server answered a range request without a "
                                     "usable Content-Range header")
                data = _read_all(response, last - first + 1)
            self._count(len(data))
            if len(data) != last - first + 1:
                raise _Transient("the connection closed before the end of the data")
            return "range", total, response.geturl() or url, (first, data)
        return self._with_retries(url, attempt)  # type: ignore[return-value]

    def read_text(self, url: str, limit: int = 8 << 20) -> str | None:
        """A small text resource (the archive index); ``None`` when the server has none."""
        def attempt() -> str | None:
            response = self._open_once(_request(url), ok=(403, 404, 410))
            with response:
                if isinstance(response, urllib.error.HTTPError):
                    return None
                data = _read_all(response, limit)
            self._count(len(data))
            return data.decode("utf-8", errors="replace")
        return self._with_retries(url, attempt)  # type: ignore[return-value]

    def read_range(self, url: str, start: int, stop: int, size: int) -> bytes:
        """Bytes ``start`` to ``stop - 1`` of the file at ``url`` (``size`` bytes long)."""
        def attempt() -> bytes:
            response = self._open_once(_request(url, {"Range": f"bytes={start}-{stop - 1}"}), ())
            with response:
                first, last, total = content_range(response.headers.get("Content-Range"))
                if response.status != 206 or first != start or total not in (None, size):
                    raise FetchError(
                        f"{url}: the server answered a range request for bytes {start}-"
                        f"{stop - 1} with status {response.status} "
                        f"({response.headers.get('Content-Range') or 'no Content-Range'}); "
                        "the archive may have changed during the download: run the command "
                        "again")
                data = _read_all(response, stop - start)
            self._count(len(data))
            if len(data) != stop - start:
                raise _Transient("the connection closed before the end of the data")
            return data
        return self._with_retries(url, attempt)  # type: ignore[return-value]

    def download(self, url: str, part: Path, first: http.client.HTTPResponse | None = None,
                 on_progress: Callable[[int, int | None], None] | None = None) -> Path:
        """Download the whole file at ``url`` into ``part``, then rename it without ``.part``.

        A ``part`` file left by an earlier break is continued with a ``Range`` request; a
        server that ignores it sends the whole file again, which then replaces the part.
        ``first`` is a response already holding the whole file (status 200), used when there
        is nothing to continue.  ``on_progress(bytes_held, total)`` follows the download.

        Returns
        -------
        Path
            The complete file (``part`` without its ``.part`` suffix).
        """
        done = part.with_name(part.name.removesuffix(".part"))
        try:
            part.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SAError(f"{part.parent}: cannot be created ({exc.strerror or exc})") from None

        def attempt() -> Path:
            nonlocal first
            have = part.stat().st_size if part.exists() else 0
            if first is not None and have == 0:
                response, first = first, None
            else:
                if first is not None:
                    first.close()
                    first = None
                headers = {"Range": f"bytes={have}-"} if have else {}
                response = self._open_once(_request(url, headers), ok=(416,))
            with response:
                start, _, total = content_range(response.headers.get("Content-Range"))
                if response.status == 416:
                    if total == have:  # the part already holds the whole file
                        return _finish(part, done)
                    part.unlink(missing_ok=True)
                    raise _Transient("the server refused to continue the partial download")
                if response.status == 206:
                    if start != have:
                        part.unlink(missing_ok=True)
                        raise _Transient(f"the server sent bytes from {start}, not from {have}")
                    mode = "ab"
                else:  # the server sent the whole file: start again
                    have, mode = 0, "wb"
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                try:
                    fh = part.open(mode)
                except OSError as exc:
                    raise SAError(f"{part}: cannot be written ({exc.strerror or exc})") from None
                with fh:
                    if on_progress is not None:
                        on_progress(have, total)
                    while chunk := _read_chunk(response):
                        try:
                            fh.write(chunk)
                        except OSError as exc:
                            raise SAError(f"{part}: cannot be written ({exc.strerror or exc})"
                                          ) from None
                        have += len(chunk)
                        self._count(len(chunk))
                        if on_progress is not None:
                            on_progress(have, total)
            if total is not None and have != total:
                raise _Transient("the connection closed before the end of the data")
            return _finish(part, done)
        return self._with_retries(url, attempt)  # type: ignore[return-value]


def _finish(part: Path, done: Path) -> Path:
    os.replace(part, done)
    return done


def _request(url: str, headers: dict[str, str] | None = None) -> urllib.request.Request:
    return urllib.request.Request(url, headers={"User-Agent": _USER_AGENT, **(headers or {})})


def _read_chunk(response: http.client.HTTPResponse) -> bytes:
    try:
        return response.read(_CHUNK)
    except http.client.IncompleteRead as exc:
        raise _Transient(_reason(exc)) from None
    except (OSError, http.client.HTTPException) as exc:
        if _is_transient(exc):
            raise _Transient(_reason(exc)) from None
        raise


def _read_all(response: http.client.HTTPResponse, limit: int) -> bytes:
    out = io.BytesIO()
    while out.tell() < limit and (chunk := _read_chunk(response)):
        out.write(chunk)
    return out.getvalue()[:limit]


class RemoteFile(io.RawIOBase):
    """A read-only, seekable file over HTTP range requests (what :mod:`zipfile` reads).

    It holds one block of bytes; a read outside it fetches a new block of at least
    :data:`READ_AHEAD` bytes, and :meth:`prefetch` fetches a known span (one zip member) in
    one request.

    Parameters
    ----------
    http : Http
        The requester.
    url : str
        The file's address (after any redirect).
    size : int
        The file's length in bytes.
    block : tuple of (int, bytes)
        Bytes already held and where they start (the tail read that found the size).

    Examples
    --------
    >>> f = RemoteFile(Http(), "http://127.0.0.1:9/x.zip", 10, (6, b"6789"))
    >>> _ = f.seek(-3, 2)
    >>> f.read(2), f.tell()
    (b'78', 9)
    """

    def __init__(self, http: Http, url: str, size: int, block: tuple[int, bytes]) -> None:
        super().__init__()
        self.http, self.url, self.size = http, url, size
        self._start, self._block = block
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError(f"negative seek position {base + offset}")
        self._pos = base + offset
        return self._pos

    def prefetch(self, start: int, length: int) -> None:
        """Hold bytes ``start`` to ``start + length`` (clipped to the file) after one request."""
        stop = min(self.size, start + length)
        if start < stop and not self._holds(start, stop):
            self._start, self._block = start, self.http.read_range(self.url, start, stop, self.size)

    def forget(self) -> None:
        """Drop the bytes held (the next read asks the server again)."""
        self._start, self._block = 0, b""

    def _holds(self, start: int, stop: int) -> bool:
        return self._start <= start and stop <= self._start + len(self._block)

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self._pos
        stop = min(self.size, self._pos + n)
        if stop <= self._pos:
            return b""
        if not self._holds(self._pos, stop):
            self.prefetch(self._pos, max(stop - self._pos, READ_AHEAD))
        data = self._block[self._pos - self._start:stop - self._start]
        self._pos = stop
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)
