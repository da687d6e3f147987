"""The sanitiser keeps ordinary Markdown and drops active content from any Markdown."""

import html
import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.knowledge.markdown import plain_text, render

# Known ways in: raw HTML, Markdown links and images, autolinks, reference links, entity-
# and whitespace-obfuscated schemes (the classic filter-evasion list, shortened).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</script>",
    "<iframe src='https://evil.test'></iframe>",
    "<IFRAME SRC=javascript:alert(1)>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<body onload=alert(1)>",
    "<a href='javascript:alert(1)'>x</a>",
    "<a href='JaVaScRiPt:alert(1)'>x</a>",
    "<a href='java&#x09;script:alert(1)'>x</a>",
    "<a href='&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)'>x</a>",
    "<a href=' javascript:alert(1)'>x</a>",
    "<a href='vbscript:msgbox(1)'>x</a>",
    "<a href='data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='>x</a>",
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    "![x](javascript:alert(1))",
    "<javascript:alert(1)>",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<math><mi xlink:href=javascript:alert(1)>x</mi></math>",
    "<style>@import 'javascript:alert(1)';</style>",
    "<div style='background:url(javascript:alert(1))'>x</div>",
    "<meta http-equiv=refresh content='0;url=javascript:alert(1)'>",
    "<base href=javascript:alert(1)//>",
    "<details open ontoggle=alert(1)>",
    "<!--<script>alert(1)</script>-->",
    '<a href="javas\ncript:alert(1)">x</a>',
    "`<script>` is shown as code, not run",
]

ACTIVE_TAGS = {"script", "iframe", "object", "embed", "form", "style", "base", "meta", "svg"}


class _Elements(HTMLParser):
    """Every element and attribute the browser would build from the HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, attrs))

    handle_startendtag = handle_starttag


def _scheme(url: str) -> str:
    # What a browser does before it reads the scheme: drop control characters and spaces.
    # A scheme is a letter then letters, digits, "+", "-" or "."; anything else before the
    # first colon makes the URL relative (WHATWG URL, scheme state).
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", html.unescape(url)).lower()
    scheme = re.match(r"([a-z][a-z0-9+.-]*):", cleaned)
    return scheme.group(1) if scheme else ""


def assert_inert(output: str) -> None:
    parser = _Elements()
    parser.feed(output)
    for tag, attrs in parser.found:
        assert tag not in ACTIVE_TAGS, output
        for name, value in attrs:
            assert not name.startswith("on"), output
            assert name != "style", output
            if name in {"href", "src", "action", "data", "xlink:href", "formaction"}:
                assert _scheme(value or "") in {"", "http", "https", "mailto"}, output


def test_each_known_payload_comes_out_inert():
    for payload in PAYLOADS:
        assert_inert(render(payload))
        assert "alert(1)</script>" not in render(payload).lower()


fragments = st.sampled_from(
    [
        *PAYLOADS,
        "<",
        ">",
        "</",
        '"',
        "'",
        "`",
        "&#",
        ";",
        ":",
        "(",
        ")",
        "[",
        "]",
        "\n",
        "\n\n",
        "    ",
        "javascript",
        "script",
        "iframe",
        "href=",
        "src=",
        "on",
        "load=",
        "# ",
        "- ",
        "> ",
        "```\n",
        "| a | b |\n| - | - |\n",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(fragments, st.text(max_size=8)), max_size=30).map("".join))
def test_no_markdown_renders_active_content(text):
    assert_inert(render(text))


def test_ordinary_markdown_keeps_its_shape():
    out = render(
        "# Title\n\nSome **bold** and a [link](https://example.com/x).\n\n"
        "1. one\n2. two\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n\n<kbd>Ctrl</kbd>"
    )
    assert "<h2>Title</h2>" in out  # the page's h1 is the article's title
    assert "<strong>bold</strong>" in out
    assert 'href="https://example.com/x"' in out
    assert 'rel="noopener noreferrer nofollow"' in out
    for kept in ("<ol>", "<table>", "<kbd>Ctrl</kbd>"):
        assert kept in out


def test_the_summary_is_plain_text():
    assert plain_text("## Hi\n\nA & B <script>x()</script> **done**") == "Hi A & B done"
    assert plain_text("word " * 100, limit=20).endswith("…")
