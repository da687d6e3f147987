"""Keyboard review of the identity queue in a real browser (issue 23): a reviewer works
through a queue of 50 with one key per decision; the test reports decisions per minute
(no timing assertion: speed is for benchmarks) and checks each decision landed."""

import re
import time

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import OrganisationFactory
from portal.sync.identity import resolve_queue
from portal.sync.models import CustomerIdentity
from tests.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

QUEUE = 50


def test_a_reviewer_decides_a_queue_of_50_with_the_keyboard(page, world):
    for i in range(QUEUE):
        OrganisationFactory(name=f"Harbour Clinic {i}", customer_number=f"C-H{i}")
    CustomerIdentity.objects.bulk_create(
        CustomerIdentity(system="oe", external_id=f"OE-{i}", external_name=f"HARBR CLINC {i}")
        for i in range(QUEUE)
    )
    resolve_queue()  # a name one slip off, nothing else: each waits for a person
    assert CustomerIdentity.objects.filter(status="waiting").count() == QUEUE
    sign_in(page, world.admin.email)
    page.goto("/workspace/identities/")
    page.get_by_test_id("start-review").click()

    started = time.perf_counter()
    for decided in range(QUEUE):
        expect(page.get_by_test_id("side-by-side")).to_be_visible()
        page.wait_for_load_state()  # its keys are bound by a deferred script
        here = page.url
        page.keyboard.press("s" if decided == 0 else "a")  # skip the first, accept the rest
        expect(page).not_to_have_url(here)
    minutes = (time.perf_counter() - started) / 60
    print(f"\nidentity review: {QUEUE} decisions in {minutes * 60:.1f} s,"
          f" {QUEUE / minutes:.0f} decisions per minute")  # fmt: skip

    expect(page).to_have_url(re.compile(r"/workspace/identities/"))
    matched = CustomerIdentity.objects.filter(status="matched", method="hand")
    assert matched.count() == QUEUE - 1  # all but the one skipped
    skipped = CustomerIdentity.objects.get(status="waiting")
    assert skipped.external_id in {f"OE-{i}" for i in range(QUEUE)}
    for identity in matched:  # each onto its own organisation, the top candidate
        assert identity.organisation.name == f"Harbour Clinic {identity.external_id[3:]}"
