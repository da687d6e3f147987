"""axe-core in every browser test: each page a test opens is checked at WCAG 2.1 AA.

axe-core comes from its npm package (`make test` installs the version pinned in the
Makefile into .venv/axe; AXE_CORE_JS may point elsewhere). `AxeWatch` adds it to every
document of a browser context: each page runs it once loaded and reports back, and the
page a test ends on is checked once more after the test, so what htmx swapped in or a
click opened is covered too. Any violation fails the test, naming the rule, the page and
the elements. The same check holds our layout rule: no page scrolls sideways, and at 1366
px no card hides content behind its scroll bar (the page a test ends on is checked at 390
and 1366 px too).

A page loaded with the same screen (its path, numbers aside), width, language and kinds of
elements (tag and class) as one already checked in this test process is not checked again
on load: a test that walks through fifty records of one screen checks it once, and the
screens many tests pass through are checked once per process. A form shown again with its
errors, a message or a new panel has new kinds of elements and is checked. The page a test
ends on is always checked.

One region is left out: Swagger UI's own widgets on /api/v1/docs/ (`#swagger-ui`, drawn by
the vendored drf-spectacular-sidecar bundle: nested buttons and its colours are its own
markup); the page around it is ours and is checked.
"""

import os
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

ROOT = Path(__file__).resolve().parent.parent
AXE_JS = Path(os.environ.get("AXE_CORE_JS", ROOT / ".venv/axe/node_modules/axe-core/axe.min.js"))
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The widths every page a test ends on is checked at, besides the test's own.
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
SCREENS = (PHONE, LAPTOP)

# Runs in every document after axe itself. The result goes back through a binding; a page
# left before axe finished is simply checked no more (its successor is).
RUNNER = """
(() => {
  if (window.top !== window) return;
  const context = {exclude: [['#swagger-ui']]};
  const options = {runOnly: {type: 'tag', values: %(tags)s}, resultTypes: ['violations']};
  const brief = (violations) => violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')),
  }));
  // Our own layout rule beside axe's: nothing scrolls sideways, and on a desktop screen
  // (1366 px and wider) no card hides part of its content behind a scroll bar.
  const layout = () => {
    const found = [];
    const width = window.innerWidth;
    if (document.documentElement.scrollWidth > width) {
      found.push({id: 'layout-scrolls-sideways', impact: 'serious',
        help: `the page is ${document.documentElement.scrollWidth} px wide at ${width} px`,
        targets: []});
    }
    const clipped = width >= 1366 ? [...document.querySelectorAll('.card')]
      .filter(card => card.scrollWidth > card.clientWidth + 1) : [];
    if (clipped.length) {
      found.push({id: 'layout-card-clipped', impact: 'serious',
        help: `a card scrolls sideways at ${width} px`,
        targets: clipped.slice(0, 5).map(c => c.id ? '#' + c.id : c.className)});
    }
    return found;
  };
  window.__axeCheck = () => axe.run(context, options)
    .then(r => brief(r.violations).concat(layout()));
  // What decides a page's violations is its markup, not its data: the same screen at the
  // same width with the same kinds of elements (tag and class) was checked once already
  // in this browser context when a test walks through many records of it.
  const shape = () => {
    const kinds = new Set();
    for (const el of document.getElementsByTagName('*')) {
      kinds.add(el.tagName + '.' + (el.getAttribute('class') || ''));
    }
    return [...kinds].sort().join(' ');
  };
  window.__axeCheckOnce = () => {
    const screen = [location.pathname.replace(/[0-9]+/g, '#'), window.innerWidth,
      document.documentElement.lang].join(' ');
    const key = screen + ' ' + shape();
    return window.__axeSeen(key).then(seen => seen ? null : window.__axeCheck()
      .then(found => window.__axeReport(location.href, found, key)));
  };
  window.addEventListener('load', () => {
    window.__axeRunning = window.__axeCheckOnce().catch(() => {});
  });
})();
"""

# Resolves once the browser has drawn twice: what a resize made the page do is done.
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

# Waits for the check the page made when it loaded, then checks the page as it is now.
FINAL_CHECK = """async () => {
  if (typeof window.__axeCheck !== 'function') return null;
  await window.__axeRunning;
  return await window.__axeCheck();
}"""


# The screens checked on load so far in this process (see above).
CHECKED_SHAPES: set[str] = set()


class AxeWatch:
    def __init__(self, context, shapes_seen: set[str] | None = None):
        if not AXE_JS.is_file():
            pytest.fail(f"axe-core is missing at {AXE_JS}: run `make test` (it installs it).")
        self.violations: dict[tuple[str, str], dict] = {}
        self.pages_checked = 0
        self.shapes_seen = CHECKED_SHAPES if shapes_seen is None else shapes_seen
        self.pages_skipped = 0  # loaded with a screen and shape already checked
        context.expose_function("__axeReport", self._report)
        context.expose_function("__axeSeen", self._seen)
        context.add_init_script(path=str(AXE_JS))
        context.add_init_script(RUNNER % {"tags": WCAG_21_AA})

    def _seen(self, key: str) -> bool:
        seen = key in self.shapes_seen
        self.pages_skipped += seen
        return seen

    def _report(self, url: str, found: list[dict], key: str | None = None) -> None:
        # A shape counts as checked once its check has finished: a page left before
        # that is checked again the next time it loads.
        if key is not None:
            self.shapes_seen.add(key)
        self.pages_checked += 1
        path = urlsplit(url).path or url
        for violation in found:
            self.violations.setdefault((path, violation["id"]), violation)

    def check_now(self, page) -> None:
        """The page as the test left it (skipped when it is not one of ours, e.g. a PDF),
        at the test's own width, then on a phone and a laptop."""
        if page.is_closed():
            return
        for size in (None, *SCREENS):
            try:
                if size is not None:
                    page.set_viewport_size(size)
                    page.evaluate(NEXT_FRAME)  # the page's own resize handlers run first
                found = page.evaluate(FINAL_CHECK)
            except PlaywrightError:  # a page mid-navigation or a download: nothing to check
                return
            if found is not None:
                self._report(page.url, found)

    def check_at(self, page, size: dict) -> None:
        """The page as it is now, at another width (unless that screen was checked)."""
        page.set_viewport_size(size)
        page.evaluate(NEXT_FRAME)
        page.evaluate("async () => { await window.__axeRunning; await window.__axeCheckOnce(); }")

    def assert_clean(self) -> None:
        lines = [
            f"{path}: {v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}"
            for (path, _), v in sorted(self.violations.items())
        ]
        assert not lines, "axe-core found WCAG 2.1 AA violations:\n" + "\n".join(lines)


@contextmanager
def checked_by_axe(context):
    """A new page of `context`, every document of which axe-core checks; fails the test on
    any WCAG 2.1 AA violation once the test is done with it."""
    with watched_by_axe(context) as (page, _):
        yield page


@contextmanager
def watched_by_axe(context):
    """`checked_by_axe`, giving the watch too: (page, AxeWatch)."""
    axe = AxeWatch(context)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page, axe
        axe.check_now(page)
    finally:
        context.close()
    axe.assert_clean()
