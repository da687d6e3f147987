"""Work queued by the web side is done by a real worker process through Redis."""

import time

import pytest

from accounts.services import invitation_create

pytestmark = pytest.mark.slow


def wait_for_files(folder, timeout=60.0):
    """The mail files once each holds a message (the backend creates a file, then writes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        files = list(folder.iterdir())
        if files and all(f.stat().st_size for f in files):
            return files
        time.sleep(0.2)
    return []


def test_invitation_email_is_sent_by_the_worker_after_commit(world, celery_worker_process):
    invitation_create(
        organisation=world.org_a,
        email="colleague@alpha.test",
        role="member",
        invited_by=world.customer_admin_a,
    )
    files = wait_for_files(celery_worker_process)
    assert len(files) == 1, "the worker sent no mail within a minute"
    mail = files[0].read_text()
    assert "To: colleague@alpha.test" in mail
    assert "/accounts/invitations/" in mail
