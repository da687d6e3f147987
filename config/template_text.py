"""Visible text in templates that is not marked for translation.

A template is read as a stream of pieces: Django tags ({% %}, {{ }}, {# #}), HTML tags and
comments, and the text between them. A *phrase* is a run of text and {{ variables }}
between two tags; one with words outside its variables is visible text, and must sit in
{% translate %} or {% blocktranslate %}. So must the words in the attributes people read
(title, placeholder, aria-label, alt, a button's value) and literal strings a template
passes to `default`/`yesno`, which should be _("...").

`untranslated(source)` lists what is left (the test in tests/test_translations.py fails on
it); scripts/i18n_wrap.py marks a template's phrases the same way, for a new template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PIECE = re.compile(
    r"(?P<comment>\{#.*?#\})"
    r"|(?P<block>\{%.*?%\})"
    r"|(?P<var>\{\{.*?\}\})"
    r"|(?P<html_comment><!--.*?-->|<![^>]*>)"
    r"|(?P<tag></?[a-zA-Z](?:[^<>{]|\{\{.*?\}\}|\{%.*?%\}|\{(?![{%]))*>)",
    re.S,
)
WORD = re.compile(r"[^\W\d_]{2,}")
READ_ATTRIBUTES = re.compile(
    r"""\b(title|placeholder|aria-label|alt|data-confirm)\s*=\s*("([^"]*)"|'([^']*)')""", re.S
)
BUTTON_VALUE = re.compile(
    r"""<input\b[^>]*type=["']?(?:submit|button)[^>]*\bvalue\s*=\s*("([^"]*)"|'([^']*)')""", re.S
)
LITERAL_ARGUMENT = re.compile(r"""\|(default|yesno):(?P<q>["'])(?P<text>[^"']*)(?P=q)""")
SKIPPED_ELEMENTS = ("script", "style")


@dataclass(frozen=True)
class Piece:
    kind: str  # text, var, block, comment, html_comment, tag
    text: str
    start: int


def pieces(source: str) -> list[Piece]:
    """The template as a list of pieces, text included, covering every character."""
    found, position = [], 0
    for match in PIECE.finditer(source):
        if match.start() > position:
            found.append(Piece("text", source[position : match.start()], position))
        found.append(Piece(match.lastgroup, match.group(), match.start()))
        position = match.end()
    if position < len(source):
        found.append(Piece("text", source[position:], position))
    return found


def _block_name(piece: Piece) -> str:
    inner = piece.text[2:-2].split()
    return inner[0] if inner else ""


def phrases(source: str, *, plain_text: bool = False) -> list[list[Piece]]:
    """The runs of text and variables outside translation blocks, comments and scripts.

    In a plain-text template (an email) each line is its own phrase.
    """
    runs: list[list[Piece]] = []
    current: list[Piece] = []
    skip_until = ""

    def close():
        nonlocal current
        if current:
            runs.append(current)
        current = []

    for piece in pieces(source):
        if skip_until:
            ends = piece.kind == "block" and _block_name(piece) == skip_until
            ends = ends or (piece.kind == "tag" and piece.text.lower().startswith(skip_until))
            if ends:
                skip_until = ""
            continue
        if piece.kind == "text" and plain_text and "\n" in piece.text:
            lines = piece.text.split("\n")
            for index, line in enumerate(lines):
                if index:
                    close()
                if line:
                    offset = piece.start + sum(len(part) + 1 for part in lines[:index])
                    current.append(Piece("text", line, offset))
            continue
        if piece.kind in ("text", "var"):
            current.append(piece)
            continue
        close()
        if piece.kind == "block" and _block_name(piece) in ("blocktranslate", "blocktrans"):
            skip_until = "end" + _block_name(piece)
        elif piece.kind == "block" and _block_name(piece) == "comment":
            skip_until = "endcomment"
        elif piece.kind == "block" and piece.text[2:-2].split()[1:2] in (
            ["body_class"],
            ["bodyclass"],
        ):
            skip_until = "endblock"  # CSS classes, not words
        elif piece.kind == "tag":
            name = re.match(r"<([a-zA-Z]+)", piece.text)
            if name and name.group(1).lower() in SKIPPED_ELEMENTS:
                skip_until = f"</{name.group(1).lower()}"
    close()
    return runs


def _attribute_words(value: str) -> bool:
    value = re.sub(r"\{%\s*blocktrans.*?\{%\s*endblocktrans\w*\s*%\}", "", value, flags=re.S)
    return bool(WORD.search(re.sub(r"\{[{%].*?[}%]\}", "", value, flags=re.S)))


def visible_words(run: list[Piece]) -> bool:
    text = "".join(piece.text for piece in run if piece.kind == "text")
    text = re.sub(r"&[a-zA-Z]+;|&#\d+;", " ", text)  # entities are not words
    return bool(WORD.search(text))


def untranslated(source: str, *, plain_text: bool = False) -> list[str]:
    """Each visible phrase, read attribute or literal argument not marked for translation."""
    found = [
        " ".join("".join(piece.text for piece in run).split())
        for run in phrases(source, plain_text=plain_text)
        if visible_words(run)
    ]
    for piece in pieces(source):
        if piece.kind == "tag":
            for match in READ_ATTRIBUTES.finditer(piece.text):
                value = match.group(3) if match.group(3) is not None else match.group(4)
                if _attribute_words(value):
                    found.append(f"{match.group(1)}={value}")
            for match in BUTTON_VALUE.finditer(piece.text):
                value = match.group(2) if match.group(2) is not None else match.group(3)
                if _attribute_words(value):
                    found.append(f"value={value}")
        if piece.kind in ("var", "block"):
            for match in LITERAL_ARGUMENT.finditer(piece.text):
                if WORD.search(match.group("text")):
                    found.append(match.group())
    return found
