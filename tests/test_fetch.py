"""``sa fetch``: a real HTTP server on 127.0.0.1 serving small archives built here.

The server honours ``Range`` requests (or, switched, refuses them or only suffix ones), can
fail every request after the first member was served, flip a byte of what it sends, or
serve no index page.  Nothing touches the internet.
"""

from __future__ import annotations

import hashlib
import io
import random
import socket
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import sa_lib.data.police_uk_fetch as fetch
import sa_lib.data.police_uk_remote as remote
from sa_lib.data.police_uk import find_street_files
from sa_lib.data.police_uk_fetch import MANIFEST, archives_needed
from sa_lib.data.police_uk_file import POLICE_UK_COLUMNS
from sa_lib.run.cli import main

FORCES = {"leicestershire": "Leicestershire Police", "kent": "Kent Police"}
#: Two archives of three months each, named (as on data.police.uk) by their last month.
ARCHIVES = {"2021-03": ["2021-01", "2021-02", "2021-03"],
            "2021-06": ["2021-04", "2021-05", "2021-06"]}


def street_csv(month: str, force: str, rows: int = 300) -> bytes:
    rng = random.Random(f"{month}{force}")
    lines = [",".join(POLICE_UK_COLUMNS)]
    for i in range(rows):
        lines.append(",".join([
            f"{rng.getrandbits(64):016x}", month, FORCES[force], FORCES[force],
            f"{-1.1 - rng.random():.6f}", f"{52.6 + rng.random():.6f}",
            f"On or near Street {rng.randint(1, 500)}", f"E0100{rng.randint(1000, 9999)}",
            f"Somewhere {rng.randint(1, 99):03d}A", "Burglary" if i % 3 else "Drugs",
            "Under investigation", ""]))
    return ("\r\n".join(lines) + "\r\n").encode()  # police.uk files end lines with CRLF


def build_archive(months: list[str]) -> tuple[bytes, dict[str, bytes]]:
    """A zip laid out like a data.police.uk archive; also its street files by member name."""
    street: dict[str, bytes] = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for month in months:
            for force in FORCES:
                name = f"{month}/{month}-{force}-street.csv"
                street[name] = street_csv(month, force)
                zf.writestr(name, street[name])
                zf.writestr(f"{month}/{month}-{force}-outcomes.csv", b"Crime ID,Month\r\nx,y\r\n")
                zf.writestr(f"{month}/{month}-{force}-stop-and-search.csv", b"Type,Date\r\n")
    return buf.getvalue(), street


class ArchiveServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.files: dict[str, bytes] = {}
        self.members: dict[str, set[int]] = {}  # archive path -> its members' offsets
        self.street: dict[str, bytes] = {}
        self.ranges = True           # honour Range requests
        self.suffix_ranges = True    # ... including "bytes=-N"
        self.index = True
        self.fail_after_members: int | None = None
        self.flip: tuple[str, int] | None = None
        self.log: list[tuple[str, str | None, int]] = []
        self.sent = 0
        self.lock = threading.Lock()
        for name, months in ARCHIVES.items():
            data, street = build_archive(months)
            path = f"/archive/{name}.zip"
            self.files[path] = data
            self.street.update(street)
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                self.members[path] = {i.header_offset for i in zf.infolist()}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/archive/"

    def member_requests(self) -> int:
        return sum(1 for path, rng, status in self.log if status == 206 and rng
                   and not rng.startswith("bytes=-")
                   and int(rng[6:].split("-")[0]) in self.members.get(path, ()))


class Handler(BaseHTTPRequestHandler):
    server: ArchiveServer

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        srv = self.server
        with srv.lock:
            srv.log.append((self.path, self.headers.get("Range"), status))
            srv.sent += len(body)
        self.send_response(status)
        for k, v in {"Content-Length": str(len(body)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        srv = self.server
        if srv.fail_after_members is not None and srv.member_requests() >= srv.fail_after_members:
            return self._send(500, b"broken")
        if self.path == "/archive/":
            if not srv.index:
                return self._send(404, b"no index")
            links = "".join(f'<a href="/data/archive/{p.rsplit("/", 1)[1]}">x</a>'
                            for p in srv.files)
            return self._send(200, f"<html><a href='latest.zip'>latest</a>{links}</html>".encode())
        body = srv.files.get(self.path)
        if body is None:
            return self._send(404, b"not found")
        if srv.flip and srv.flip[0] == self.path:
            at = srv.flip[1]
            body = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1:]
        rng = self.headers.get("Range")
        if rng and srv.ranges and not (rng.startswith("bytes=-") and not srv.suffix_ranges):
            first, _, last = rng[6:].partition("-")
            if not first:
                start, stop = max(0, len(body) - int(last)), len(body)
            else:
                start, stop = int(first), min(len(body), int(last) + 1 if last else len(body))
            if start >= len(body):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            return self._send(206, body[start:stop],
                              {"Content-Range": f"bytes {start}-{stop - 1}/{len(body)}"})
        return self._send(200, body)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY", "SA_POLICE_UK_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("SA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(remote, "RETRY_DELAYS", (0.0, 0.0))
    # Small blocks, so that these small archives are read in pieces as real ones are.
    monkeypatch.setattr(remote, "TAIL_BYTES", 2048)
    monkeypatch.setattr(remote, "READ_AHEAD", 2048)
    srv = ArchiveServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def sa_fetch(server: ArchiveServer | str, out: Path, force: str, first: str, last: str,
             capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    base = server if isinstance(server, str) else server.base
    code = main(["fetch", "--force", force, "--from", first, "--to", last, "--out", str(out),
                 "--base-url", base, "--no-progress"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def kept(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*")) if p.is_file() and p.name != MANIFEST}


def expected(server: ArchiveServer, force: str, months: list[str]) -> dict[str, bytes]:
    return {f"{m}/{m}-{force}-street.csv": server.street[f"{m}/{m}-{force}-street.csv"]
            for m in months}


def test_a_range_over_two_archives_keeps_only_the_forces_street_files_byte_identical(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "leics"
    code, stdout, err = sa_fetch(server, out, "Leicestershire Police", "2021-02", "2021-05",
                                 capsys)
    assert code == 0, err
    months = ["2021-02", "2021-03", "2021-04", "2021-05"]
    assert kept(out) == expected(server, "leicestershire", months)
    assert "leicestershire: 4 month(s) fetched, 0 skipped" in stdout
    assert "2 archive(s): 2021-06, 2021-03" in stdout
    # Range requests only: a part of each archive, never a whole one.
    assert all(status in (200, 206) for _, _, status in server.log)
    assert [s for p, r, s in server.log if p.endswith(".zip") and s == 200] == []
    assert server.sent < sum(len(b) for b in server.files.values()) / 2
    assert [f.name for f in find_street_files(out)] == [
        f"{m}-leicestershire-street.csv" for m in months]
    assert not list(out.rglob("*.part"))


def test_a_rerun_with_everything_present_asks_the_server_nothing(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "leics"
    assert sa_fetch(server, out, "leicestershire", "2021-04", "2021-06", capsys)[0] == 0
    server.log.clear()
    code, stdout, _ = sa_fetch(server, out, "leicestershire", "2021-04", "2021-06", capsys)
    assert code == 0 and server.log == []
    assert "0 month(s) fetched, 3 skipped" in stdout
    # A file changed since it was checked is fetched again.
    changed = out / "2021-05" / "2021-05-leicestershire-street.csv"
    changed.write_bytes(changed.read_bytes()[:-10])
    code, stdout, _ = sa_fetch(server, out, "leicestershire", "2021-04", "2021-06", capsys)
    assert code == 0 and "1 month(s) fetched, 2 skipped" in stdout
    assert kept(out) == expected(server, "leicestershire", ["2021-04", "2021-05", "2021-06"])


def test_an_interrupted_fetch_resumes_skipping_what_it_kept(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kent"
    server.fail_after_members = 1  # every request after the first file's fails
    code, stdout, err = sa_fetch(server, out, "kent", "2021-04", "2021-06", capsys)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: cannot reach {server.base}2021-06.zip (HTTP 500")
    assert err.rstrip().endswith("check your connection or proxy")
    assert len(kept(out)) == 1
    server.fail_after_members = None
    code, stdout, err = sa_fetch(server, out, "kent", "2021-04", "2021-06", capsys)
    assert code == 0, err
    assert "kent: 2 month(s) fetched, 1 skipped" in stdout
    assert kept(out) == expected(server, "kent", ["2021-04", "2021-05", "2021-06"])


def test_a_corrupted_member_is_not_kept_and_is_an_error(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = "/archive/2021-06.zip"
    with zipfile.ZipFile(io.BytesIO(server.files[path])) as zf:
        info = zf.getinfo("2021-05/2021-05-leicestershire-street.csv")
    header = 30 + len(info.filename) + len(info.extra)
    server.flip = (path, info.header_offset + header + info.compress_size // 2)
    out = tmp_path / "leics"
    code, stdout, err = sa_fetch(server, out, "leicestershire", "2021-04", "2021-06", capsys)
    assert code == 2 and "Traceback" not in err
    assert err.startswith("error: 1 problem found")
    assert "2021-05-leicestershire-street.csv" in err and "was not kept" in err
    assert kept(out) == expected(server, "leicestershire", ["2021-04", "2021-06"])
    assert "2 month(s) fetched" in stdout and "1 failed their checks" in stdout
    assert not list(out.rglob("*.part"))
    server.flip = None  # the next run fetches it
    assert sa_fetch(server, out, "leicestershire", "2021-04", "2021-06", capsys)[0] == 0
    assert len(kept(out)) == 3


def test_an_unknown_force_gets_the_nearest_names(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = sa_fetch(server, tmp_path / "x", "Leicester Constabulary", "2021-04",
                            "2021-05", capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "'Leicester Constabulary' is not a police.uk force" in err
    assert "did you mean leicestershire" in err
    assert not (tmp_path / "x").exists()


def test_a_server_that_is_down_gives_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}/archive/"
    code, _, err = sa_fetch(base, tmp_path / "x", "kent", "2021-04", "2021-05", capsys)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"error: cannot reach {base} (")
    assert err.rstrip().endswith("); check your connection or proxy")


def test_months_no_archive_holds_are_reported_and_the_others_fetched(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "kent"
    code, stdout, err = sa_fetch(server, out, "kent", "2020-11", "2021-02", capsys)
    assert code == 0, err
    missing = [line for line in stdout.splitlines() if line.startswith("missing:")]
    assert missing == [f"missing: 2020-11..2020-12: no archive on {server.base} holds it"]
    assert "2 month(s) fetched, 0 skipped (already present), 2 missing" in stdout
    assert kept(out) == expected(server, "kent", ["2021-01", "2021-02"])


def test_without_an_index_each_months_archive_is_tried(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    server.index = False
    out = tmp_path / "kent"
    code, stdout, err = sa_fetch(server, out, "kent", "2021-03", "2021-07", capsys)
    assert code == 0, err
    assert "missing: 2021-07: " in stdout and "2021-07.zip is not there (HTTP 404)" in stdout
    assert kept(out) == expected(server, "kent", ["2021-03", "2021-04", "2021-05", "2021-06"])


@pytest.mark.parametrize("resume", [False, True])
def test_a_server_without_ranges_gets_the_whole_archive_downloaded(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        resume: bool) -> None:
    path = "/archive/2021-06.zip"
    if resume:  # a break left half the archive; the server honours "bytes=N-" only
        server.suffix_ranges = False
        url = f"{server.base}2021-06.zip"
        cache = tmp_path / "cache" / "police_uk" / "archives"
        cache.mkdir(parents=True)
        half = len(server.files[path]) // 2
        key = hashlib.sha256(url.encode()).hexdigest()[:12]
        (cache / f"{key}-2021-06.zip.part").write_bytes(server.files[path][:half])
    else:
        server.ranges = False
    out = tmp_path / "kent"
    code, stdout, err = sa_fetch(server, out, "kent", "2021-04", "2021-06", capsys)
    assert code == 0, err
    assert kept(out) == expected(server, "kent", ["2021-04", "2021-05", "2021-06"])
    if resume:
        assert (path, f"bytes={half}-", 206) in server.log
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]  # nothing left


def test_a_large_member_is_read_in_pieces_and_the_default_folder_is_the_forces(
        server: ArchiveServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "PREFETCH_MAX", 1000)
    monkeypatch.setattr(fetch, "DATA_DIR", tmp_path / "data")
    code = main(["fetch", "--force", "KENT POLICE", "--from", "2021-05", "--to", "2021-05",
                 "--base-url", server.base, "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert kept(tmp_path / "data" / "police_uk" / "kent") == expected(server, "kent", ["2021-05"])
    member_reads = [r for p, r, s in server.log if s == 206 and not r.startswith("bytes=-")]
    assert len(member_reads) >= 2  # the first 1 kB, then the rest (about 9 kB compressed)


def test_bad_months_are_one_line_errors(capsys: pytest.CaptureFixture[str],
                                        tmp_path: Path) -> None:
    for first, last, message in [("2021-13", "2021-12", "--from '2021-13' is not a month"),
                                 ("2021-06", "2021-01", "--from 2021-06 is after --to 2021-01")]:
        code, _, err = sa_fetch("http://127.0.0.1:9/", tmp_path, "kent", first, last, capsys)
        assert code == 2 and err.startswith(f"error: {message}") and err.count("\n") == 1


def test_archives_needed_takes_the_fewest() -> None:
    assert archives_needed("2017-01", "2022-10") == ["2022-10", "2019-10"]
    assert archives_needed("2019-11", "2022-10") == ["2022-10"]
    assert archives_needed("2019-10", "2022-10") == ["2022-10", "2019-10"]
    # Only archives the server has: months none of them holds are left out.
    assert archives_needed("2020-01", "2020-12", available=["2020-03", "2021-01"]) == [
        "2021-01"]
    assert archives_needed("2020-01", "2020-12", available=["2019-01"]) == []
