"""Mark a template's visible text for translation, as config/template_text.py finds it.

    .venv/bin/python scripts/i18n_wrap.py templates/portal/new_page.html ...

A phrase without variables becomes {% translate "..." %}; one with variables a
{% blocktranslate trimmed with name=expression %} (emails: one per line, untrimmed);
read attributes get {% translate %} inside their quotes; `default:"..."` becomes
`default:_("...")`. Then `{% load i18n %}` is added. Read the diff: a sentence cut by
markup (<strong>, a link) becomes several phrases, which may want one blocktranslate.
"""

import html
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.template_text import (
    BUTTON_VALUE,
    LITERAL_ARGUMENT,
    READ_ATTRIBUTES,
    WORD,
    phrases,
    pieces,
    visible_words,
)


def _quoted(text: str) -> str | None:
    if '"' not in text:
        return f'"{text}"'
    if "'" not in text:
        return f"'{text}'"
    return None


def _variable_name(expression: str, taken: dict[str, str]) -> str:
    base = expression.split("|")[0].strip().split(".")[-1]
    base = re.sub(r"^get_(.*)_display$", r"\1", base)
    base = re.sub(r"\W", "_", base).strip("_").lower() or "value"
    if base[0].isdigit():
        base = "n" + base
    name, number = base, 2
    while name in taken and taken[name] != expression:
        name, number = f"{base}{number}", number + 1
    return name


def _wrap(run, *, plain_text: bool) -> str:
    raw = "".join(piece.text for piece in run)
    lead = raw[: len(raw) - len(raw.lstrip())]
    trail = raw[len(raw.rstrip()) :]
    if not any(piece.kind == "var" for piece in run):
        text = " ".join(html.unescape(raw).split())
        quoted = _quoted(text)
        if quoted:
            return f"{lead}{{% translate {quoted} %}}{trail}"
    taken: dict[str, str] = {}
    body = []
    for piece in run:
        if piece.kind == "var":
            expression = LITERAL_ARGUMENT.sub(_literal, piece.text[2:-2].strip())
            name = _variable_name(expression, taken)
            taken[name] = expression
            body.append(f"{{{{ {name} }}}}")
        else:
            body.append(piece.text)
    inner = "".join(body).strip()
    if not plain_text:
        inner = " ".join(inner.split())
    with_clause = " ".join(
        f"{name}={expression}" for name, expression in taken.items() if name != expression
    )
    options = "" if plain_text else " trimmed"
    with_part = f" with {with_clause}" if with_clause else ""
    return (
        f"{lead}{{% blocktranslate{options}{with_part} %}}{inner}{{% endblocktranslate %}}{trail}"
    )


def _attribute(match: re.Match) -> str:
    value = match.group(3) if match.group(3) is not None else match.group(4)
    if not WORD.search(value) or "{" in value:
        return match.group()
    text = html.unescape(value).replace('"', "&quot;")
    if "'" in text:  # no quote left to close a literal: the block tag needs none
        return f'{match.group(1)}="{{% blocktranslate %}}{text}{{% endblocktranslate %}}"'
    return f"""{match.group(1)}="{{% translate '{text}' %}}\""""


def _button(match: re.Match) -> str:
    value = match.group(2) if match.group(2) is not None else match.group(3)
    if not WORD.search(value) or "{" in value:
        return match.group()
    start = match.group().rfind(match.group(1))
    return match.group()[:start] + f"\"{{% translate '{html.unescape(value)}' %}}\""


def _literal(match: re.Match) -> str:
    if not WORD.search(match.group("text")):
        return match.group()
    return f'|{match.group(1)}:_("{match.group("text")}")'


def wrap(source: str, *, plain_text: bool = False) -> str:
    replacements = []
    wrapped = set()
    for run in phrases(source, plain_text=plain_text):
        if visible_words(run):
            start = run[0].start
            end = run[-1].start + len(run[-1].text)
            replacements.append((start, end, _wrap(run, plain_text=plain_text)))
            wrapped.update(piece.start for piece in run)
    for piece in pieces(source):
        if piece.start in wrapped:
            continue
        new = piece.text
        if piece.kind == "tag":
            new = READ_ATTRIBUTES.sub(_attribute, new)
            new = BUTTON_VALUE.sub(_button, new)
        elif piece.kind in ("var", "block"):
            new = LITERAL_ARGUMENT.sub(_literal, new)
        if new != piece.text:
            replacements.append((piece.start, piece.start + len(piece.text), new))
    for start, end, new in sorted(replacements, reverse=True):
        source = source[:start] + new + source[end:]
    return _load_i18n(source) if replacements else source


def _load_i18n(source: str) -> str:
    if re.search(r"\{%\s*load\s[^%]*\bi18n\b", source):
        return source
    load = re.search(r"\{%\s*load\s+([^%]*?)\s*%\}", source)
    if load:
        return source[: load.start()] + f"{{% load {load.group(1)} i18n %}}" + source[load.end() :]
    extends = re.match(r"\s*\{%\s*extends\s[^%]*%\}", source)
    at = extends.end() if extends else 0
    return source[:at] + "{% load i18n %}" + source[at:]


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        old = path.read_text()
        new = wrap(old, plain_text=path.suffix == ".txt")
        if new != old:
            path.write_text(new)
            print(f"marked {path}")
