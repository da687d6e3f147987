"""Every main screen fits a phone (390 px) and a laptop (1366 px), for each role.

The checks themselves run on every page any browser test opens (tests/axe.py: no page
scrolls sideways; at 1366 px no card hides content behind its scroll bar). This test
opens each role's screens at both widths, on the demo's data, so each page is checked
with realistic names, tables and buttons.
"""

import pytest

from accounts.models import Organisation, User
from portal.demo.loader import DEMO_PASSWORD, demo_load
from portal.sync.identity import resolve_queue
from portal.sync.models import CustomerIdentity, SourceSystem
from portal.tests.records import add_orders
from tests.axe import LAPTOP, PHONE, watched_by_axe
from tests.browser import sign_in
from tickets.knowledge.models import Article
from tickets.models import Ticket

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CUSTOMER_PAGES = [
    "/", "/orders/", "/orders/{order}/", "/shipments/", "/invoices/", "/timeline/",
    "/tickets/", "/tickets/new/", "/tickets/{ticket}/", "/tier/", "/reviews/",
    "/commitments/", "/accounts/members/", "/accounts/api-tokens/", "/accounts/two-factor/",
    "/orders/{order}/reorder/",
    "/help/", "/help/{article}/",
]  # fmt: skip
STAFF_PAGES = [
    "/", "/workspace/queue/", "/workspace/renewals/", "/tickets/queue/", "/tickets/insights/",
    "/tier/value/", "/tier/value/fit/", "/workspace/identities/", "/workspace/sources/",
    "/workspace/sources/{source}/", "/workspace/accounts/{organisation}/", "/tickets/{ticket}/",
    "/accounts/handoff/", "/help/", "/help/new/", "/help/insights/", "/help/{article}/edit/",
]  # fmt: skip


@pytest.fixture
def demo(transactional_db):
    demo_load()
    northwind = Organisation.objects.get(customer_number="C-1001")
    order = add_orders(northwind, 3)[0]
    CustomerIdentity.objects.create(
        system="order-entry", external_id="OE-77", external_name="NORTHWIND FAMILY CLINIK"
    )
    resolve_queue()
    source = SourceSystem.objects.create(
        name="Old billing", system="old-billing", department="billing", kind="sql",
        entity="invoices", enabled=False, config={},
    )  # fmt: skip
    return {
        "order": order.pk,
        "ticket": Ticket.objects.filter(organisation=northwind).first().pk,
        "source": source.pk,
        "organisation": northwind.pk,
        "article": Article.objects.get(title="Where is my delivery?").pk,
    }


@pytest.mark.parametrize(
    ("email", "pages"),
    [("alice@northwind.example", CUSTOMER_PAGES), ("admin@portal.example", STAFF_PAGES)],
    ids=["customer", "admin"],
)
# German too: its words are longer (accounts/locale.py, the person's language).
@pytest.mark.parametrize("language", ["en-gb", "de"])
def test_each_screen_fits_a_phone_and_a_laptop(browser, live_server, demo, email, pages, language):
    """Each page loaded once on a phone, then the window widened to a laptop's: the page
    must fit both, and axe and the card rule check it at both (tests/axe.py)."""
    User.objects.filter(email=email).update(language=language)
    context = browser.new_context(base_url=live_server.url, viewport=PHONE)
    with watched_by_axe(context) as (page, axe):
        sign_in(page, email, DEMO_PASSWORD)
        for path in pages:
            page.set_viewport_size(PHONE)
            url = path.format(**demo)
            response = page.goto(url)
            assert response.status == 200, url
            assert response.url == live_server.url + url  # not sent to the login page
            page.wait_for_load_state("load")
            assert page.evaluate("document.documentElement.lang") == language, url
            for screen in (PHONE, LAPTOP):
                axe.check_at(page, screen)
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= screen["width"], f"{path} is {width} px wide at {screen['width']}"
        # On a laptop, the top bar's links on one line.
        rows = page.evaluate(
            "new Set([...document.querySelectorAll('.topnav a')].map(a => a.offsetTop)).size"
        )
        assert rows == 1
