"""Checks on uploaded files: size, extension and that the content matches it.

Every way a file reaches a ticket (the web form, the API, an email) goes through
`uploads_check` once; what it accepted carries its checked name and type on to be saved.
"""

from dataclasses import dataclass
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


@dataclass(frozen=True)
class CheckedUpload:
    """A file `uploads_check` accepted: the upload, and its safe name and content type."""

    upload: object
    filename: str
    content_type: str


def uploads_check(uploads) -> tuple[list[CheckedUpload], list[str]]:
    """(The files that pass, why each other one did not), checking each file once: one
    already checked (an email's, checked as it was read) passes as it is."""
    accepted, refused = [], []
    for upload in uploads:
        if isinstance(upload, CheckedUpload):
            accepted.append(upload)
            continue
        try:
            filename, content_type = validate_upload(upload)
        except ValidationError as error:
            refused.append(" ".join(error.messages))
            continue
        accepted.append(CheckedUpload(upload, filename, content_type))
    return accepted, refused
