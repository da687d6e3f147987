import re

from django.conf import settings


def invitation_token_from(message) -> str:
    """The token of the invitation link in an email."""
    match = re.search(r"/accounts/invitations/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)


def as_browser(client):
    """The client asks as a browser does after its first page, with its CSRF cookie: only
    then is a page's content kept, and a kept page reads its data versions first
    (accounts/platform/data_versions.py), so query counts are those of most requests."""
    if settings.CSRF_COOKIE_NAME not in client.cookies:
        client.cookies[settings.CSRF_COOKIE_NAME] = "c" * 32
    return client
