"""Checks on uploaded files: size, extension and that the content matches it."""

from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

# What the first bytes of each kind of file must be; text is checked separately.
SIGNATURES = {
    ".pdf": (b"%PDF-",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".xlsx": (b"PK\x03\x04",),
    ".docx": (b"PK\x03\x04",),
}
TEXT_EXTENSIONS = {".txt", ".csv"}


def shortened(name: str, limit: int = 200) -> str:
    """A file name of at most `limit` characters that keeps its extension."""
    if len(name) <= limit:
        return name
    suffix = PurePath(name).suffix
    suffix = suffix if len(suffix) <= 16 else ""
    return name[: limit - len(suffix)].rstrip() + suffix


def validate_upload(upload) -> tuple[str, str]:
    """Return (safe file name, content type) or raise ValidationError saying why not."""
    name = shortened(PurePath(upload.name or "file").name)
    extension = PurePath(name).suffix.lower()
    allowed = settings.TICKET_ATTACHMENT_TYPES
    if extension not in allowed:
        kinds = ", ".join(sorted(allowed))
        raise ValidationError(
            _("“%(name)s”: files of this type are not accepted (use %(kinds)s).")
            % {"name": name, "kinds": kinds}
        )
    limit = settings.TICKET_ATTACHMENT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            _("“%(name)s” is larger than %(filesizeformat)s.")
            % {"name": name, "filesizeformat": filesizeformat(limit)}
        )
    upload.seek(0)
    head = upload.read(4096)
    upload.seek(0)
    if extension in TEXT_EXTENSIONS:
        if b"\x00" in head:
            raise ValidationError(_("“%(name)s” is not a text file.") % {"name": name})
    elif extension in SIGNATURES and not head.startswith(SIGNATURES[extension]):
        raise ValidationError(
            _("“%(name)s” does not contain what its name says (%(extension)s).")
            % {"name": name, "extension": extension}
        )
    return name, allowed[extension]
