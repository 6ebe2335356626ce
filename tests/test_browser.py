"""The stakeholder report in a real browser: headless Chromium with the network cut off.

Each build's ``report.html`` (public and official) is opened as a ``file://`` page in
Debian's Chromium, driven by Playwright, in an offline context where every request other
than the report file itself (or a ``data:``/``about:`` URL) is aborted and recorded.  The
tests check that every chart loads and has alt text, that every contents link reaches its
section, that nothing is fetched from outside the file, that the page logs no errors, and
save a full-page screenshot (its path is printed in the test output).

When Chromium or the Playwright package is missing the whole module is skipped with a
reason that ``-ra`` (in pytest's ``addopts``) prints in the summary; ``.ci/run`` installs
Chromium first, so CI always runs these checks.  ``playwright install`` is never needed:
the browser is ``/usr/bin/chromium`` (``apt-get install chromium chromium-driver``).
"""

from __future__ import annotations

import importlib.util
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # playwright may be absent: the module is then skipped
    from playwright.sync_api import Browser, Page, Route

CHROMIUM = Path("/usr/bin/chromium")
VIEWPORT = {"width": 1280, "height": 900}
AUDIENCES = ["public", "official"]

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason=f"Chromium not found at {CHROMIUM}: browser check SKIPPED "
               "(apt-get install chromium chromium-driver)",
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="Python package playwright not installed: browser check SKIPPED "
               "(pip install -e '.[dev]')",
    ),
]

# Belt and braces next to the offline context: nothing in the browser may phone home
# (component updates, safe browsing, QUIC probes) and no host name resolves.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--dns-prefetch-disable",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]

# Elements and attributes that make a browser fetch something when the page is shown.
_FETCHING_ATTRIBUTES = """() => {
  const pairs = [['script', 'src'], ['link', 'href'], ['img', 'src'], ['img', 'srcset'],
    ['iframe', 'src'], ['frame', 'src'], ['embed', 'src'], ['object', 'data'],
    ['source', 'src'], ['source', 'srcset'], ['video', 'src'], ['video', 'poster'],
    ['audio', 'src'], ['track', 'src'], ['input', 'src'], ['image', 'href'],
    ['use', 'href'], ['image', 'xlink:href'], ['use', 'xlink:href']];
  const found = [];
  for (const [tag, attr] of pairs) {
    for (const el of document.querySelectorAll(tag)) {
      const value = el.getAttribute(attr);
      if (value !== null) found.push([tag, attr, value.slice(0, 120)]);
    }
  }
  return found;
}"""

_STYLE_TEXTS = """() => [
  ...Array.from(document.querySelectorAll('style'), s => s.textContent),
  ...Array.from(document.querySelectorAll('[style]'), e => e.getAttribute('style')),
]"""

_IMAGES = """() => Array.from(document.images, (img, i) => ({
  index: i,
  alt: (img.getAttribute('alt') || '').trim(),
  complete: img.complete,
  naturalWidth: img.naturalWidth,
  shownWidth: img.getBoundingClientRect().width,
  src: img.getAttribute('src') === null ? '' : img.getAttribute('src').slice(0, 40),
}))"""

_TOC_LINKS = """() => Array.from(document.querySelectorAll('nav a[href^="#"]'),
  a => ({href: a.getAttribute('href'), text: a.textContent.replace(/\\s+/g, ' ').trim()}))"""

# The target of a contents link: how many elements carry its id, and the text of the
# first heading at or after it in document order (the section the link should reach).
_TARGET = """(id) => {
  const target = document.getElementById(id);
  if (target === null) return null;
  const headings = Array.from(document.querySelectorAll('h1, h2, h3, h4, h5, h6'));
  const heading = headings.find(h => h === target ||
    (target.compareDocumentPosition(h) & Node.DOCUMENT_POSITION_FOLLOWING));
  return {
    count: document.querySelectorAll('[id="' + CSS.escape(id) + '"]').length,
    heading: heading ? heading.textContent.replace(/\\u00b6/g, '').replace(/\\s+/g, ' ').trim()
                     : null,
  };
}"""

# Where the target sits after the link was clicked.  A section near the end of the page
# cannot be scrolled to the top, so it only has to be on screen with the page at its end.
_POSITION = """(id) => {
  const rect = document.getElementById(id).getBoundingClientRect();
  const root = document.scrollingElement;
  return {
    hash: decodeURIComponent(location.hash.slice(1)),
    top: rect.top,
    viewport: window.innerHeight,
    atEnd: window.scrollY + window.innerHeight >= root.scrollHeight - 2,
  };
}"""

_CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)


@dataclass
class OpenedReport:
    """A report page opened offline, with what the browser tried to fetch or complained of."""

    page: Page
    url: str
    outside_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def _is_inline(url: str) -> bool:
    return url.startswith(("data:", "about:", "#"))


@contextmanager
def open_offline(browser: Browser, path: Path,
                 viewport: dict[str, int] | None = None) -> Iterator[OpenedReport]:
    """Open ``path`` in a fresh offline context, closed again on leaving the block."""
    context = browser.new_context(offline=True, viewport=viewport or VIEWPORT,
                                  service_workers="block")
    url = path.resolve().as_uri()
    outside: list[str] = []

    def route(r: Route) -> None:
        if r.request.url == url or _is_inline(r.request.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    opened = OpenedReport(page=context.new_page(), url=url, outside_requests=outside)
    opened.page.on("console",
                   lambda m: m.type == "error" and opened.console_errors.append(m.text))
    opened.page.on("pageerror", lambda e: opened.console_errors.append(f"uncaught: {e}"))
    opened.page.goto(url, wait_until="load")
    try:
        yield opened
    finally:
        context.close()


def image_problems(page: Page) -> list[str]:
    """Images that did not load, are not shown, or have no alt text."""
    images = page.evaluate(_IMAGES)
    if not images:
        return ["the page has no images"]
    problems = []
    for img in images:
        where = f"image {img['index'] + 1} ({img['src']}...)"
        if not (img["complete"] and img["naturalWidth"] > 0):
            problems.append(f"{where} did not load")
        elif img["shownWidth"] <= 0:
            problems.append(f"{where} loaded but is not shown")
        if not img["alt"]:
            problems.append(f"{where} has no alt text")
    return problems


def contents_problems(page: Page) -> list[str]:
    """Contents links whose target is missing, ambiguous, not the section named, or not reached."""
    links = page.evaluate(_TOC_LINKS)
    if not links:
        return ["the page has no contents links (nav a[href^='#'])"]
    problems = []
    for i, link in enumerate(links):
        target_id = link["href"][1:]
        target = page.evaluate(_TARGET, target_id)
        if target is None:
            problems.append(f"contents link {link['href']} ({link['text']!r}): no element has that id")
            continue
        if target["count"] != 1:
            problems.append(f"contents link {link['href']}: {target['count']} elements have that id")
        if target["heading"] != link["text"]:
            problems.append(f"contents link {link['href']} ({link['text']!r}) leads to heading "
                            f"{target['heading']!r}")
        page.evaluate("window.scrollTo(0, 0)")
        page.locator('nav a[href^="#"]').nth(i).click()
        page.wait_for_function("h => location.hash === h", arg=link["href"], timeout=2000)
        pos = page.evaluate(_POSITION, target_id)
        on_screen = -2 <= pos["top"] < pos["viewport"]
        at_top = abs(pos["top"]) <= 2 or pos["atEnd"]
        if pos["hash"] != target_id or not (on_screen and at_top):
            problems.append(f"contents link {link['href']}: after clicking, hash is "
                            f"#{pos['hash']} and the section is {pos['top']:.0f} px from the top "
                            f"of a {pos['viewport']} px window")
    return problems


def fetching_markup(page: Page) -> list[str]:
    """Markup that would fetch anything that is not inside the file (``data:`` or ``#``)."""
    found = [f"<{tag} {attr}={value!r}>" for tag, attr, value in page.evaluate(_FETCHING_ATTRIBUTES)
             if not _is_inline(value.strip())]
    for text in page.evaluate(_STYLE_TEXTS):
        found += [f"CSS url({m.group(1) or m.group(2)})" for m in _CSS_URL.finditer(text)
                  if not _is_inline(m.group(1) or m.group(2))]
    return found


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=AUDIENCES)
def report(request: pytest.FixtureRequest, browser: Browser, built: Path) -> Iterator[OpenedReport]:
    path = built / request.param / "report.html"
    assert path.is_file(), f"{path} was not built"
    with open_offline(browser, path) as opened:
        yield opened


def test_every_image_loads_and_has_alt_text(report: OpenedReport) -> None:
    problems = image_problems(report.page)
    assert not problems, f"{report.url}:\n" + "\n".join(problems)


def test_contents_links_reach_their_sections(report: OpenedReport) -> None:
    problems = contents_problems(report.page)
    assert not problems, f"{report.url}:\n" + "\n".join(problems)


def test_nothing_is_fetched_from_outside_the_file(report: OpenedReport) -> None:
    markup = fetching_markup(report.page)
    assert not report.outside_requests, (
        f"{report.url} asked for: " + ", ".join(report.outside_requests))
    assert not markup, f"{report.url} would fetch: " + ", ".join(markup)


def test_full_page_screenshot(report: OpenedReport, built: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    audience = Path(report.url).parent.name
    shot = tmp_path / f"report-{audience}.png"
    report.page.screenshot(path=str(shot), full_page=True, animations="disabled")
    # A copy beside the build's outputs, so CI can keep it with the report it shows.
    kept = built.parent / "browser" / shot.name
    kept.parent.mkdir(exist_ok=True)
    kept.write_bytes(shot.read_bytes())
    width, height = png_size(kept)
    with capsys.disabled():  # shown in the normal test output, where people look for it
        print(f"\nbrowser screenshot ({audience}): {kept} ({width} x {height} px)")
    assert width == VIEWPORT["width"]
    assert height > max(1000, VIEWPORT["height"]), f"{kept} is only {height} px high"


def test_no_console_errors(report: OpenedReport) -> None:
    # Runs last for each report, after the clicks and the screenshot.
    assert not report.console_errors, f"{report.url}:\n" + "\n".join(report.console_errors)


# The first key message of the executive summary, where the browser shows it.
_FIRST_MESSAGE = """() => {
  const h = Array.from(document.querySelectorAll('h2'))
    .find(e => e.textContent.replace(/\u00b6/g, '').trim() === 'Key messages');
  if (!h) return null;
  const li = Array.from(document.querySelectorAll('ol > li'))
    .find(x => h.compareDocumentPosition(x) & Node.DOCUMENT_POSITION_FOLLOWING);
  if (!li) return null;
  const r = li.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, text: li.innerText.slice(0, 80)};
}"""
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_first_screen_shows_the_summarys_first_message(browser: Browser, built: Path,
                                                        audience: str) -> None:
    with open_offline(browser, built / audience / "report.html", DESKTOP) as opened:
        first = opened.page.evaluate(_FIRST_MESSAGE)
    assert first is not None, "no 'Key messages' list in the report"
    assert 0 <= first["top"] and first["bottom"] <= DESKTOP["height"], (
        f"the first key message ({first['text']!r}) is at {first['top']:.0f}-"
        f"{first['bottom']:.0f} px, below the first {DESKTOP['height']} px screen")


@pytest.mark.parametrize("audience", AUDIENCES)
def test_legible_at_phone_width(browser: Browser, built: Path, audience: str) -> None:
    """At 390 px no chart is wider than the screen and the page does not scroll sideways
    (wide tables scroll inside themselves); the text has no space before a comma."""
    with open_offline(browser, built / audience / "report.html", PHONE) as opened:
        page = opened.page
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate("() => Array.from(document.images).filter("
                             "i => i.getBoundingClientRect().right > window.innerWidth + 1)"
                             ".length")
        text = page.evaluate("document.body.innerText")
    assert width <= PHONE["width"], f"the page is {width} px wide at {PHONE['width']} px"
    assert wide == 0, f"{wide} images run past the right edge at {PHONE['width']} px"
    assert not re.findall(r"\S +,", text), re.findall(r".{30}\S +,.{10}", text)[:3]


BROKEN_PAGE = """<!DOCTYPE html><html><head><title>broken</title>
<script src="//cdn.example.org/require.js"></script>
<link rel="stylesheet" href="https://cdn.example.org/theme.css">
<style>body {{ background: url(https://cdn.example.org/bg.png); }}</style></head><body>
<nav aria-label="Contents"><a href="#sec-1">One</a> <a href="#sec-2">Two</a>
<a href="#sec-3">Three</a></nav>
<img src="{png}" alt="an inline chart"><img src="chart.png" alt="">
<p><a id="sec-1"></a></p><h1>One</h1><div style="height: 3000px"></div>
<p><a id="sec-3"></a></p><h2>Not three</h2><div style="height: 3000px"></div>
<script>console.error("boom")</script></body></html>"""

# A 1 x 1 transparent PNG, so the page has one image that does load.
_PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNk"
          "YAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def test_the_checks_catch_a_broken_page(browser: Browser, tmp_path: Path) -> None:
    """The checks above report every kind of defect they look for (no build needed)."""
    page_file = tmp_path / "broken.html"
    page_file.write_text(BROKEN_PAGE.format(png=_PIXEL), encoding="utf-8")
    with open_offline(browser, page_file) as opened:
        images = image_problems(opened.page)
        contents = contents_problems(opened.page)
        markup = fetching_markup(opened.page)
    assert images == ["image 2 (chart.png...) did not load", "image 2 (chart.png...) has no alt text"]
    assert contents == [
        "contents link #sec-2 ('Two'): no element has that id",
        "contents link #sec-3 ('Three') leads to heading 'Not three'",
    ]
    assert {u.rsplit("/", 1)[-1] for u in opened.outside_requests} == {
        "require.js", "theme.css", "bg.png", "chart.png"}
    assert markup == [
        "<script src='//cdn.example.org/require.js'>",
        "<link href='https://cdn.example.org/theme.css'>",
        "<img src='chart.png'>",
        "CSS url(https://cdn.example.org/bg.png)",
    ]
    assert "boom" in opened.console_errors
