"""The files an email carries, wherever the mail client put them.

- Every leaf of the MIME tree is looked at, also inside `multipart/signed` (S/MIME and
  PGP/MIME sign the whole content, files and all; the signature itself is not a file).
- A forwarded message attached whole (`message/rfc822`) is text, not a file: who wrote
  it, when, its subject and its text are added to the message (its own files stay in it).
- Outlook's TNEF (winmail.dat, application/ms-tnef) is opened with tnefparse: its files
  are the files, and its text is the text when the mail has no other.
- A file without a name (an inline image, pasted) is named from its content type:
  `image-1.png`.
Text parts without a name that are not attachments are the message's text, not files.
"""

from __future__ import annotations

import logging
import mimetypes
from email.message import Message

from tnefparse import TNEF

from tickets.mail_text import decoded, header_text, html_to_text

logger = logging.getLogger(__name__)
SIGNATURES = {
    "application/pkcs7-signature",
    "application/x-pkcs7-signature",
    "application/pgp-signature",
}
TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}
MAX_PARTS = 500  # a message with more leaves is not worth walking further


def files_in(message: Message) -> tuple[list[tuple[str, bytes, str]], list[str]]:
    """(name, data, content type) of each file, and texts carried in containers: TNEF
    bodies and forwarded messages."""
    files: list[tuple[str, bytes, str]] = []
    texts: list[str] = []
    for part in _leaves(message):
        content_type = part.get_content_type()
        name = _filename(part)
        if content_type in TNEF_TYPES or (name or "").lower() == "winmail.dat":
            found, text = _tnef(_payload(part))
            files += found
            texts.append(text)
            continue
        if content_type == "message/rfc822":
            texts.append(_forwarded(part))
            continue
        if not _is_file(part, name):
            continue
        name = name or _name_for(content_type, len(files) + 1)
        files.append((name, _payload(part), content_type))
    return files, [text for text in texts if text]


def _leaves(part: Message, depth: int = 0):
    """The parts that are not containers, depth first; a signature part is skipped."""
    if depth > 20:
        return
    if part.get_content_type() == "message/rfc822" or not part.is_multipart():
        if part.get_content_type() not in SIGNATURES:
            yield part
        return
    children = part.get_payload()
    if not isinstance(children, list):
        return
    for child in children[:MAX_PARTS]:
        if isinstance(child, Message):
            yield from _leaves(child, depth + 1)


def _is_file(part: Message, name: str | None) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    if part.get_content_maintype() == "text" and not name and disposition != "attachment":
        return False  # the text itself (plain or HTML), not a file
    return bool(name) or disposition == "attachment" or part.get_content_maintype() != "text"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, IndexError, TypeError, LookupError):
        return None
    name = " ".join(str(name or "").split()).replace("\x00", "")
    return name or None


def _name_for(content_type: str, number: int) -> str:
    extension = mimetypes.guess_extension(content_type, strict=False) or ".bin"
    return f"{content_type.partition('/')[0] or 'file'}-{number}{extension}"


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    if isinstance(data, bytes):
        return data
    return str(data or "").encode("utf-8", "surrogateescape")


def _forwarded(part: Message) -> str:
    inner = part.get_payload()
    inner = inner[0] if isinstance(inner, list) and inner else inner
    if not isinstance(inner, Message):
        return ""
    try:
        body = inner.get_body(preferencelist=("plain", "html"))
    except (KeyError, ValueError, IndexError, AttributeError):
        body = None
    text = decoded(body) if body is not None else ""
    if body is not None and body.get_content_subtype() == "html":
        text = html_to_text(text)
    heading = "\n".join(
        f"{name}: {header_text(inner, name)}"
        for name in ("From", "Date", "Subject")
        if header_text(inner, name)
    )
    return f"---------- Forwarded message ----------\n{heading}\n\n{text.strip()}".strip()


def _tnef(data: bytes) -> tuple[list[tuple[str, bytes, str]], str]:
    try:
        tnef = TNEF(data)
    except Exception:  # tnefparse raises plain errors on a broken file
        logger.info("unreadable winmail.dat")
        return [("winmail.dat", data, "application/ms-tnef")], ""
    files = []
    for number, attachment in enumerate(tnef.attachments, start=1):
        name = (attachment.long_filename() or attachment.name or "").strip("\x00 ")
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        files.append((name or f"file-{number}.bin", attachment.data, content_type))
    body = tnef.body or ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    return files, body.replace("\x00", "").strip()
