"""The text a person wrote in an email: decoded, HTML made readable, the quote left out.

- Decoding: the declared charset strictly; UTF-8 when the label is a single-byte one but
  the bytes are valid UTF-8 (a common lie that never fails to decode, it only garbles);
  then charset-normalizer's guess; only then replacement characters. (`get_content()`
  replaces silently, so the payload's bytes are decoded here.)
- HTML-only mail becomes text with inscriptis, after the quoted history's elements (the
  ones mail clients wrap it in) are taken out.
- The quote: mail-parser-reply cuts the history of a top-posted reply. Its answer is kept
  only when it holds more than a greeting; a bottom-posted or interleaved reply (text
  after ">" lines) keeps every line that is not quoted; a forwarded message is kept
  whole. Never less than what the sender wrote new.
- Linear time: past PARSER_LIMIT characters the reply parser (super-linear on long
  text) is not used; the line rule above is.
"""

from __future__ import annotations

import codecs
import re
from email.message import EmailMessage, Message

from charset_normalizer import from_bytes
from inscriptis import get_text
from lxml import html as lxml_html
from mailparser_reply import EmailReplyParser

# Languages whose "On ... wrote:" lines and signatures mail-parser-reply recognises here.
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it"]
PARSER_LIMIT = 100_000  # characters; longer text is cut by the linear line rule only
DETECT_LIMIT = 200_000  # bytes charset-normalizer looks at
SINGLE_BYTE = re.compile(r"^(us-ascii|ascii|iso-8859-\d+|latin-?1|windows-125\d|cp125\d)$", re.I)
FORWARD = re.compile(
    r"^[ \t]*(-{2,}\s*(forwarded message|weitergeleitete nachricht|"
    r"message transféré|mensaje reenviado|doorgestuurd bericht|messaggio inoltrato)\s*-{2,}|"
    r"begin forwarded message:)",
    re.I | re.M,
)
# Where a reply's quoted history starts (a forward marker below one is part of the history).
REPLY_QUOTE = re.compile(
    r"^[ \t]*(>|-{3,}\s*original message\s*-{3,}|.{0,200}(wrote|schrieb|a écrit|escribió|"
    r"schreef|ha scritto)\s*:\s*$)",
    re.I | re.M,
)
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|rv|fw)\s*:", re.I)
GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|guten tag|bonjour|salut|"
    r"hola|buenos d[ií]as|ciao|buongiorno|hoi|goedemiddag|goedemorgen|moin)\b.{0,40}$",
    re.I,
)
ATTRIBUTION = re.compile(r"^.{0,200}(wrote|schrieb|a écrit|escribió|schreef|ha scritto)\s*:\s*$")
# Where mail clients put the quoted history in HTML: Gmail, Apple Mail and Thunderbird,
# Yahoo, Outlook (whose reply header starts everything that follows).
HTML_QUOTES = (
    "//div[contains(concat(' ', @class, ' '), ' gmail_quote ')]"
    " | //blockquote[@type='cite'] | //div[contains(@class, 'moz-cite-prefix')]"
    " | //div[contains(@class, 'yahoo_quoted')]"
)
HTML_CUTS = "//div[@id='divRplyFwdMsg'] | //div[@id='appendonsend'] | //hr[@id='stopSpelling']"


def header_text(message: Message, name: str) -> str:
    """A header's value on one line ("" when missing or too broken for the parser)."""
    try:
        value = str(message.get(name, "") or "")
    except (ValueError, IndexError, TypeError, LookupError, AttributeError):
        return ""
    return " ".join(value.replace("\x00", "").split())


def decoded(part: Message) -> str:
    """The text of a text part, decoded as well as its bytes allow."""
    data = part.get_payload(decode=True) or b""
    if isinstance(data, str):  # a payload the parser could not turn into bytes
        data = data.encode("utf-8", "surrogateescape")
    declared = (part.get_content_charset() or "").strip()
    if declared and SINGLE_BYTE.match(declared) and not data.isascii():
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    for charset in filter(None, (declared, "utf-8")):
        try:
            return data.decode(codecs.lookup(charset).name)
        except (LookupError, UnicodeDecodeError):
            continue
    best = from_bytes(data[:DETECT_LIMIT]).best()
    if best is not None:
        try:
            return data.decode(best.encoding)
        except (LookupError, UnicodeDecodeError):
            pass
    return data.decode("utf-8", errors="replace")


def new_text(message: EmailMessage, subject: str = "") -> str:
    """What the sender wrote now: plain text (or the HTML's text) without the quote."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, ValueError, IndexError, AttributeError):  # a structure too broken
        part = None
    if part is None:
        return ""
    text = decoded(part)
    if part.get_content_subtype() == "html":
        whole = html_to_text(text)
        if _forwarded(whole, subject):
            return whole
        return without_quote(html_to_text(text, drop_quotes=True)) or without_quote(whole)
    text = _normalise(text)
    if _forwarded(text, subject):
        return text
    return without_quote(text)


def html_to_text(html: str, *, drop_quotes: bool = False) -> str:
    """Readable text of an HTML mail (paragraphs, lists, entities), optionally without the
    elements mail clients put the quoted history in."""
    html = html.strip()
    if not html:
        return ""
    try:
        tree = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return _normalise(get_text(html))
    if drop_quotes:
        for element in tree.xpath(HTML_QUOTES):
            element.drop_tree()
        for cut in tree.xpath(HTML_CUTS)[:1]:
            for later in cut.itersiblings():
                later.drop_tree()
            cut.drop_tree()
    return _normalise(get_text(lxml_html.tostring(tree, encoding="unicode")))


def without_quote(text: str) -> str:
    """The new part of a reply: never less than what the sender wrote new."""
    text = _normalise(text)
    if not text:
        return ""
    unquoted = _unquoted(text)
    if _answers_below_quote(text):  # bottom-posted or interleaved
        return unquoted if _substantive(unquoted) else text
    if len(text) <= PARSER_LIMIT:
        parsed = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=text).strip()
        if _substantive(parsed):
            return parsed
    return unquoted if _substantive(unquoted) else text


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _forwarded(text: str, subject: str) -> bool:
    """A forward: the subject says so, or a forward marker comes before any quoted history
    (one inside the history is an older forward, answered now)."""
    if FORWARD_SUBJECT.match(subject or ""):
        return True
    marker = FORWARD.search(text)
    if marker is None:
        return False
    quote = REPLY_QUOTE.search(text)
    return quote is None or marker.start() < quote.start()


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _unquoted(text: str) -> str:
    """The lines that are not quoted, nor the attribution line ("On ... wrote:") of a quote."""
    lines = text.split("\n")
    kept = []
    for number, line in enumerate(lines):
        if _quoted(line):
            continue
        following = next((x for x in lines[number + 1 : number + 3] if x.strip()), "")
        if ATTRIBUTION.match(line.strip()) and _quoted(following):
            continue
        kept.append(line)
    return _normalise("\n".join(kept))


def _answers_below_quote(text: str) -> bool:
    """Whether someone wrote below a quoted block (not only a signature)."""
    seen_quote = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped in ("--", "-- ") or stripped.startswith("-- "):
            return False
        if _quoted(line):
            seen_quote = True
        elif seen_quote and stripped and not ATTRIBUTION.match(stripped):
            return True
    return False


def _substantive_lines(text: str) -> list[str]:
    return [line for line in (x.strip() for x in text.split("\n")) if line]


def _substantive(text: str) -> bool:
    """More than empty lines and a greeting."""
    return any(not GREETING.match(line) for line in _substantive_lines(text))
