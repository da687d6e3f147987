"""Downloads: an attachment, an email as it was received."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from tickets import selectors


@login_required
def inbound_email_download(request, pk: int):
    """An email as it was received (.eml), for staff (tickets/inbound.py keeps it)."""
    record = selectors.inbound_email_get(user=request.user, pk=pk)
    if not record.raw:
        raise Http404(_("This email is no longer kept."))
    return FileResponse(
        record.raw.open("rb"),
        as_attachment=True,
        filename=f"email-{record.pk}.eml",
        content_type="message/rfc822",
    )


@login_required
def attachment_download(request, pk: int):
    attachment = selectors.attachment_get(user=request.user, pk=pk)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )
