import re


def invitation_token_from(message) -> str:
    """The token of the invitation link in an email."""
    match = re.search(r"/accounts/invitations/([^/\s]+)/", message.body)
    assert match, message.body
    return match.group(1)
