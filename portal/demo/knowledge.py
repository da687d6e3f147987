"""The demo's help articles: a few categories and real-looking articles, one of them in
German, one for a tier only, one for a named organisation and one left as a draft.

Found by title on a second load, so loading twice changes nothing.
"""

from accounts.models import Organisation, User
from tickets.knowledge import services
from tickets.knowledge.models import Article, Category
from tiers.models import ServiceTier

CATEGORIES = [
    ("Orders and deliveries", "orders-and-deliveries", 1),
    ("Billing and invoices", "billing-and-invoices", 2),
    ("Your account", "your-account", 3),
]

# (category slug, title, language, audience, body, published)
ARTICLES = [
    (
        "orders-and-deliveries",
        "Where is my delivery?",
        "en",
        "everyone",
        """Every delivery we send shows on the **Deliveries** page with its carrier and
tracking number, a few minutes after it leaves our warehouse.

## If the tracking has not moved

1. Wait one working day: carriers often scan parcels only at the depot.
2. Check the delivery address on the order's page.
3. Still nothing after two working days? Press *Ask about this delivery* on the
   Deliveries page: the ticket carries the tracking number, so we can chase the carrier at once.

Samples that need cold storage travel by courier on a named day; the courier calls the
practice an hour before arrival.""",
        True,
    ),
    (
        "orders-and-deliveries",
        "Changing a delivery address",
        "en",
        "everyone",
        """You can change the address of an order until it is packed (status *Open*).

- Open a ticket from the order's page and give the new address, with the person who signs for it.
- Once an order is *Shipped*, the carrier decides: we ask for a redirection, which can take a day.

Controlled samples are delivered only to the address on your licence; we cannot redirect them.""",
        True,
    ),
    (
        "orders-and-deliveries",
        "A parcel arrived damaged or warm",
        "en",
        "everyone",
        """Do not use the samples. Take a photo of the parcel and the temperature indicator,
then open a ticket (category *Product*) with the photo attached. We send a replacement
the same day when you tell us before 14:00.

| Indicator | Meaning |
| --- | --- |
| white | kept cold all the way |
| red | too warm at some point: keep the samples apart |""",
        True,
    ),
    (
        "billing-and-invoices",
        "Paying an invoice and what “overdue” means",
        "en",
        "everyone",
        """The **Invoices** page lists what is open and what is overdue, per currency. An
invoice is overdue the day after its due date. Pay by bank transfer with the invoice
number as the reference; payments show here within two working days.

Questions about an amount? Open a ticket from the invoice's page: it reaches Billing
with the invoice attached.""",
        True,
    ),
    (
        "billing-and-invoices",
        "Rechnung bezahlen: so geht's",
        "de",
        "everyone",
        """Auf der Seite **Rechnungen** sehen Sie offene und überfällige Rechnungen. Bitte
überweisen Sie mit der Rechnungsnummer als Verwendungszweck; Zahlungen erscheinen
innerhalb von zwei Werktagen.""",
        True,
    ),
    (
        "your-account",
        "Your executive sponsor and quarterly reviews",
        "en",
        "tiers",
        """Your tier includes a named executive sponsor and a business review every quarter.
The **Reviews** page lists past reviews, their summary and next steps; your account
manager proposes a date two weeks ahead.""",
        True,
    ),
    (
        "your-account",
        "Inviting a colleague",
        "en",
        "everyone",
        """Customer admins invite colleagues from the **Colleagues** page: an email with a
link that works once, for seven days. Deactivating someone ends their access at once.""",
        True,
    ),
    (
        "orders-and-deliveries",
        "Northwind: the loading bay at the back of the clinic",
        "en",
        "organisations",
        """Couriers deliver to the loading bay on Mill Lane, not the front desk. The bay
is staffed 08:00 to 16:00; outside those hours parcels go to the pharmacy.""",
        True,
    ),
    (
        "billing-and-invoices",
        "Credit notes (draft)",
        "en",
        "everyone",
        "When we credit an invoice, the credit note appears next to it. *To be completed.*",
        False,
    ),
]


def articles_load(*, admin: User, tiers: dict[str, ServiceTier], organisations) -> int:
    categories = {}
    for name, slug, position in CATEGORIES:
        categories[slug], _ = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "position": position}
        )
    top_tier = max(tiers.values(), key=lambda tier: tier.rank)
    northwind: Organisation = organisations["C-1001"]
    for slug, title, language, audience, body, published in ARTICLES:
        if Article.objects.filter(title=title).exists():
            continue
        services.article_save(
            by=admin,
            title=title,
            category=categories[slug],
            language=language,
            audience=audience,
            body=body,
            tiers=[top_tier] if audience == "tiers" else [],
            organisations=[northwind] if audience == "organisations" else [],
            publish=published,
        )
    return Article.objects.count()
