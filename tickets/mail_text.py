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
REPLY_LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "sv", "da", "pl", "cs", "ja", "ko", "zh"]
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
FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|wg|tr|rv|fw|enc|i)\s*:", re.I)
REPLY_SUBJECT = re.compile(
    r"^\s*(re|aw|sv|vs|antw|odp|ref|réf|r|rif|rép|回复|答复)\s*(\[\d+\])?\s*:", re.I
)
GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|guten tag|bonjour|salut|"
    r"hola|buenos d[ií]as|ciao|buongiorno|hoi|goedemiddag|goedemorgen|moin)\b.{0,40}$",
    re.I,
)
# The line that introduces a quote: "On ..., X wrote:", or any short line ending in ":"
# that names an address or a date ("26.06.2014, 14:41, "X" <x@example.com>:").
ATTRIBUTION = re.compile(
    r"^.{0,200}((wrote|schrieb|a écrit|escribió|schreef|ha scritto|napisał|skrev|kirjoitti)"
    r"|(@|\d).{0,100})\s*:\s*$",
    re.I,
)
# An Outlook-style header block that starts a quoted history, in many languages:
# a "From:" line with a "Sent:"/"Date:" line right below it.
HEADER_BLOCK = re.compile(
    r"^[ \t*]*(from|von|de|van|da|od|från|fra|lähettäjä|от|寄件者|发件人|差出人)[ \t*]*:.*\n"
    r"(.*\n){0,2}?[ \t*]*(sent|date|gesendet|datum|envoyé|date|enviado|fecha|verzonden|inviato|"
    r"data|wysłano|skickat|sendt|lähetetty|отправлено|дата|发送时间|送信日時)[ \t*]*:",
    re.I | re.M,
)
# Where mail clients put the quoted history in HTML: blockquotes (Gmail, Apple Mail,
# Thunderbird, Yahoo, mail.ru, Yandex), and Outlook's reply header, which starts
# everything that follows. Both become ">" lines, for the same rules as plain text.
HTML_QUOTES = "//blockquote[not(ancestor::blockquote)]"
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
    """What the sender wrote now: plain text (or the HTML's text) without the quote.

    Only a reply has a history to cut (its subject or its thread headers say it is one);
    in a new message, text below "-----Original Message-----" is what the sender passes
    on (Outlook forwards with that line too), so only ">" quoted lines are left out."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
    except (KeyError, ValueError, IndexError, AttributeError):  # a structure too broken
        part = None
    if part is None:
        return ""
    text = decoded(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    text = _normalise(text)
    if _forwarded(text, subject):
        return text
    reply = bool(
        REPLY_SUBJECT.match(subject or "")
        or header_text(message, "In-Reply-To")
        or header_text(message, "References")
    )
    if not reply:
        return _kept_unless_empty(_unquoted(text), text)
    return without_quote(text)


def html_to_text(html: str) -> str:
    """Readable text of an HTML mail (paragraphs, lists, entities), its quoted history as
    ">" lines."""
    html = html.strip()
    if not html:
        return ""
    try:
        tree = lxml_html.document_fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return _normalise(get_text(html))
    for quote in tree.xpath(HTML_QUOTES):
        _as_quoted(quote)
    for cut in tree.xpath(HTML_CUTS)[:1]:
        for later in list(cut.itersiblings()):
            _as_quoted(later)
        _as_quoted(cut)
    return _normalise(get_text(lxml_html.tostring(tree, encoding="unicode")))


def _as_quoted(element) -> None:
    parent = element.getparent()
    if parent is None:
        return
    # Its text nodes, a line each: what a quote says is dropped, not laid out (and
    # rendering each one with inscriptis, then again inside the page, doubled the time).
    text = "\n".join(t.strip() for t in element.itertext() if t.strip())
    pre = lxml_html.Element("pre")
    pre.text = "\n".join(f"> {line}" for line in text.split("\n")) + "\n"
    pre.tail = element.tail
    parent.replace(element, pre)


def without_quote(text: str) -> str:
    """The new part of a reply: never less than what the sender wrote new."""
    text = _normalise(text)
    if not text:
        return ""
    unquoted = _unquoted(text)
    if _answers_below_quote(text):  # bottom-posted or interleaved
        return _kept_unless_empty(unquoted, text)
    block = HEADER_BLOCK.search(unquoted)
    if block is not None and _substantive(unquoted[: block.start()]):
        unquoted = _normalise(unquoted[: block.start()])
    if len(unquoted) <= PARSER_LIMIT:
        parsed = EmailReplyParser(languages=REPLY_LANGUAGES).parse_reply(text=unquoted).strip()
        # The parser's answer is kept only when it is the message's beginning, and more
        # than a greeting: it sometimes cuts a first line, or all but "Hi,".
        if _substantive(parsed) and _squashed(unquoted).startswith(_squashed(parsed)[:60]):
            return parsed
    return _kept_unless_empty(unquoted, text)


def _squashed(text: str) -> str:
    return " ".join(text.split())


def _kept_unless_empty(shorter: str, whole: str) -> str:
    return shorter if _substantive(shorter) else whole


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
        if _quoted(line) or (_attribution(line) and _quote_follows(lines, number)):
            continue
        kept.append(line)
    return _normalise("\n".join(kept))


def _attribution(line: str) -> bool:
    stripped = line.strip()
    return stripped.endswith(":") and ATTRIBUTION.match(stripped) is not None


def _quote_follows(lines: list[str], number: int) -> bool:
    following = next((x for x in lines[number + 1 : number + 3] if x.strip()), "")
    return _quoted(following)


def _answers_below_quote(text: str) -> bool:
    """Whether someone wrote below a quoted block (not only a signature)."""
    seen_quote = False
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped in ("--", "-- ") or stripped.startswith("-- "):
            return False
        if _quoted(line):
            seen_quote = True
        elif seen_quote and stripped and not _attribution(stripped):
            return True
    return False


def _substantive_lines(text: str) -> list[str]:
    return [line for line in (x.strip() for x in text.split("\n")) if line]


def _substantive(text: str) -> bool:
    """More than empty lines and a greeting."""
    return any(not GREETING.match(line) for line in _substantive_lines(text))
