"""Articles' Markdown to safe HTML: markdown-it-py renders, nh3 (ammonia) sanitises.

Authors are staff, but an article is shown to every customer, so what they paste (HTML
from another tool, a link) is cleaned as if anyone had written it: only the tags and
attributes below stay, links only to http(s) and mailto, and `<script>`/`<style>` go
with their content.
"""

import html

import nh3
from markdown_it import MarkdownIt

# CommonMark with tables and strikethrough; raw HTML is let through to the sanitiser,
# which decides, so that pasted <kbd> or <details> survive and anything else does not.
_markdown = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "dl", "dt", "em",
    "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
# h1 is the article's title: headings in the body start at h2 (an h1 there becomes h2).
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


def render(text: str) -> str:
    """The article body as HTML that is safe to show to anyone."""
    html = _markdown.render(text).replace("<h1>", "<h2>").replace("</h1>", "</h2>")
    return sanitise(html)


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def plain_text(text: str, limit: int = 300) -> str:
    """The body's words without markup, for a summary nobody wrote."""
    words = html.unescape(nh3.clean(_markdown.render(text), tags=set())).split()
    out = " ".join(words)
    return out if len(out) <= limit else out[: limit - 1].rsplit(" ", 1)[0] + "…"
