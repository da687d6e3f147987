"""A simulated legacy estate for the demo: departmental systems with their own ids and spellings.

- Order entry: a SQL database (SQLite file) with orders and order lines;
  customers are "OE-<n>" and spelled in capitals.
- Fulfilment: a CSV drop (UTF-8 with BOM, commas, day-first dates) of shipments.
- Billing: a CSV drop (Windows-1252, semicolons, decimal commas, German
  headers) of invoices; customers are "B-<n>" with their legal names.

A few records are bad on purpose (a negative quantity, an unknown currency, a
date that does not exist), and one customer is unknown to the portal, so the
quarantine and the identity review queue have something to show.
"""

from __future__ import annotations

import csv
import json
import random
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

PRODUCTS = [
    ("AMX-500", "Amoxicillin 500 mg samples", "Antibiotics", Decimal("4.20")),
    ("IBU-200", "Ibuprofen 200 mg samples", "Analgesics", Decimal("1.10")),
    ("SAL-100", "Salbutamol inhaler samples", "Respiratory", Decimal("6.75")),
    ("MET-850", "Metformin 850 mg samples", "Diabetes", Decimal("2.40")),
    ("ATV-20", "Atorvastatin 20 mg samples", "Cardiology", Decimal("3.95")),
    ("VAC-FLU", "Influenza vaccine demo kit", "Vaccines", Decimal("18.00")),
]
CARRIERS = ["DHL", "UPS", "Royal Mail", "DPD"]


@dataclass(frozen=True)
class Customer:
    number: str  # our customer number, when the portal knows them
    order_entry_id: str
    order_entry_name: str
    billing_id: str
    billing_name: str
    city: str = ""  # what order entry and billing say of where it is: the name's evidence


CUSTOMERS = [
    Customer(
        "C-1001",
        "OE-2231",
        "NORTHWIND FAMILY CLINIC",
        "B-00017",
        "Northwind Family Clinic Ltd",
        "York",
    ),
    Customer("C-1002", "OE-2240", "ST MARYS HOSPITAL", "B-00021", "St. Mary's Hospital", "London"),
    Customer(
        "C-1003", "OE-2302", "RIVERSIDE MED GRP", "B-00033", "Riverside Medical Group", "Dublin"
    ),
    Customer(
        "C-1004",
        "OE-2318",
        "HARBOUR PAEDIATRICS",
        "B-00040",
        "Harbour Paediatrics LLP",
        "Plymouth",
    ),
    # Not a portal customer yet: waits in the identity review queue.
    Customer("", "OE-2400", "LAKESIDE CARE HOME", "B-00052", "Lakeside Care Home", "Bath"),
    # Not ours either, but its name is close to one of ours: it waits with Riverside
    # Medical Group as a candidate, for someone to say "not our customer".
    Customer(
        "", "OE-2455", "RIVERSIDE MEDICAL CENTRE", "B-00061", "Riverside Medical Centre", "Cork"
    ),
]


def generate(
    directory: Path, *, orders: int = 300, seed: int = 7, api_url: str = "http://127.0.0.1:8701"
) -> dict[str, Path]:
    """Write the estate into `directory` and return where each system lives. Billing's
    payment pages are served by the demo's legacy API at `api_url` (legacy_api.py)."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    fulfilment = directory / "fulfilment"
    billing = directory / "billing"
    for folder in (fulfilment, billing):
        folder.mkdir(exist_ok=True)
    now = datetime.now(UTC).replace(microsecond=0)
    order_rows = _orders(rng, orders, now)
    totals = _write_order_entry(directory / "order_entry.sqlite3", order_rows, rng, now)
    _write_shipments(fulfilment / f"shipments-{now:%Y%m%d}.csv", order_rows, rng, now)
    _write_invoices(
        billing / f"invoices-{now:%Y%m%d}.csv",
        order_rows,
        totals,
        rng,
        now,
        f"{api_url}/billing/pay/",
    )
    _write_helpdesk(directory / "helpdesk_tickets.json", rng, now)
    _write_crm(directory / "crm_accounts.json", now)
    _write_contracts(directory / "contracts.sqlite3", rng, now)
    samples = directory / "samples"
    samples.mkdir(exist_ok=True)
    _write_samples(samples / f"receipts-{now:%Y%m%d}.csv", order_rows, rng)
    return {
        "order_entry": directory / "order_entry.sqlite3",
        "fulfilment": fulfilment,
        "billing": billing,
        "contracts": directory / "contracts.sqlite3",
        "samples": samples,
    }


def _orders(rng, count, now):
    rows = []
    for i in range(count):
        customer = CUSTOMERS[i % len(CUSTOMERS)]
        placed = now - timedelta(days=rng.randint(0, 400), minutes=rng.randint(0, 1440))
        rows.append((10_000 + i, customer, placed))
    return rows


def _write_order_entry(path: Path, orders, rng, now) -> dict[int, Decimal]:
    """Write the orders and lines; return each order's total, which billing invoices."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE orders (id INTEGER PRIMARY KEY, cust_no TEXT, cust_name TEXT,
            order_no TEXT, status TEXT, placed TEXT, currency TEXT, total TEXT, updated_at TEXT,
            city TEXT);
        CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER, sku TEXT,
            description TEXT, qty INTEGER, price TEXT, lot TEXT, updated_at TEXT);
        """
    )
    line_id = 500_000
    totals = {}
    for order_id, customer, placed in orders:
        lines = []
        for _ in range(rng.randint(1, 4)):
            code, name, _line, price = rng.choice(PRODUCTS)
            line_id += 1
            lot = f"L{rng.randint(1000, 9999)}" if rng.random() < 0.7 else None
            lines.append((line_id, order_id, code, name, rng.randint(1, 40), str(price), lot))
        if order_id % 97 == 0:  # bad on purpose: a negative quantity
            lines[0] = (*lines[0][:4], -5, *lines[0][5:])
        total = sum(Decimal(p) * q for *_, q, p, _lot in lines)
        totals[order_id] = abs(total)
        status = "shipped" if placed < now - timedelta(days=3) else "open"
        stamp = placed.isoformat()
        db.execute(
            "INSERT INTO orders VALUES (?,?,?,?,?,?,?,?,?,?)",
            (order_id, customer.order_entry_id, customer.order_entry_name, f"SO-{order_id}",
             status, stamp, "GBP", str(total), stamp, customer.city.upper()),
        )  # fmt: skip
        db.executemany(
            "INSERT INTO order_lines VALUES (?,?,?,?,?,?,?,?)",
            [(*line, stamp) for line in lines],
        )
    db.commit()
    db.close()
    return totals


def _write_shipments(path: Path, orders, rng, now) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["Shipment Ref", "Order No", "Carrier", "Tracking", "Status", "Shipped", "Delivered"]
        )
        for order_id, _customer, placed in orders:
            if placed > now - timedelta(days=3):
                continue
            shipped = placed + timedelta(days=1, hours=rng.randint(0, 12))
            delivered = shipped + timedelta(days=rng.randint(1, 3))
            done = delivered < now
            writer.writerow([
                f"SH-{order_id}", str(order_id), rng.choice(CARRIERS),
                f"TRK{rng.randint(10**9, 10**10 - 1)}", "delivered" if done else "in transit",
                shipped.strftime("%d/%m/%Y %H:%M"), delivered.strftime("%d/%m/%Y %H:%M") if done else "",
            ])  # fmt: skip


def _write_invoices(path: Path, orders, totals, rng, now, pay_url: str) -> None:
    with path.open("w", encoding="cp1252", newline="") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(
            [
                "Rechnung",
                "KundeNr",
                "Kunde",
                "Betrag",
                "Währung",
                "Datum",
                "Fällig",
                "Bezahlt",
                "Produktlinie",
                "Auftrag",
                "Ort",
                "Zahlungslink",  # billing's online payment page, while the invoice is unpaid
            ]
        )
        for n, (order_id, customer, placed) in enumerate(orders):
            issued = placed + timedelta(days=1)
            due = issued + timedelta(days=30)
            paid = issued + timedelta(days=rng.randint(5, 45)) if rng.random() < 0.8 else None
            paid = paid if paid and paid < now else None
            amount = totals[order_id]
            currency = "XXX" if n == 13 else "GBP"  # bad on purpose: unknown currency
            issued_text = "31.02.2026" if n == 29 else issued.strftime("%d.%m.%Y")  # no such day
            writer.writerow([
                f"R-{order_id}", customer.billing_id, customer.billing_name,
                f"{amount:.2f}".replace(".", ","), currency, issued_text, due.strftime("%d.%m.%Y"),
                paid.strftime("%d.%m.%Y") if paid else "", rng.choice(PRODUCTS)[2], str(order_id),
                customer.city, "" if paid else f"{pay_url}R-{order_id}",
            ])  # fmt: skip


HELPDESK_SUBJECTS = [
    ("Wrong lot number on delivery note", "Logistics"),
    ("Invoice sent to the old address", "Billing"),
    ("Cannot log in to the order line", "Access"),
    ("Samples arrived warm", "Logistics"),
    ("Need a copy of the certificate of analysis", "Product"),
]


def _write_helpdesk(path: Path, rng, now) -> None:
    """The old help desk: tickets since 2019, customers named by their help-desk id."""
    tickets = []
    for n in range(60):
        customer = CUSTOMERS[n % len(CUSTOMERS)]
        subject, category = rng.choice(HELPDESK_SUBJECTS)
        opened = now - timedelta(days=rng.randint(400, 2000))
        tickets.append({
            "ticket_id": f"HD-{7000 + n}", "account": customer.billing_id.replace("B-", "HD-C"),
            "account_name": customer.billing_name, "title": subject, "state": "closed",
            "category": category, "created": opened.isoformat(), "city": customer.city,
            "closed": (opened + timedelta(days=rng.randint(1, 20))).isoformat(),
            "updated_at": (opened + timedelta(days=21)).isoformat(),
        })  # fmt: skip
    path.write_text(json.dumps(tickets))


def _write_crm(path: Path, now) -> None:
    """The CRM knows our customer numbers: its accounts match themselves."""
    accounts = [
        {
            "id": f"CRM-{i}",
            "company": c.billing_name,
            "customer_no": c.number,
            "city": c.city,
            "segment": "Hospital" if "Hospital" in c.billing_name else "Clinic",
            "updated_at": now.isoformat(),
        }
        for i, c in enumerate(CUSTOMERS, start=1)
    ]
    path.write_text(json.dumps(accounts))


def _write_contracts(path: Path, rng, now) -> None:
    """Contracts and pricing: agreed prices per customer and product, customers by number."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE agreements (id INTEGER PRIMARY KEY, account TEXT, account_name TEXT,"
        " sku TEXT, price TEXT, currency TEXT, valid_from TEXT, valid_to TEXT, changed TEXT,"
        " town TEXT)"
    )
    n = 0
    for customer in CUSTOMERS:
        for code, _name, _line, list_price in PRODUCTS:
            n += 1
            agreed = (list_price * Decimal(rng.choice(["0.88", "0.95", "1.00"]))).quantize(
                Decimal("0.01")
            )
            start = (now - timedelta(days=rng.randint(30, 700))).date()
            db.execute(
                "INSERT INTO agreements VALUES (?,?,?,?,?,?,?,?,?,?)",
                (n, f"CT/{customer.billing_id[2:]}", customer.billing_name, code, str(agreed), "GBP",
                 start.isoformat(), (start + timedelta(days=730)).isoformat(), now.isoformat(),
                 customer.city),
            )  # fmt: skip
    db.commit()
    db.close()


def _write_samples(path: Path, orders, rng) -> None:
    """Sample accountability: which clinician signed for which lot (tab-separated, UTF-8)."""
    clinicians = ["Dr A. Osei", "Dr M. Keller", "Dr S. Ahmed", "Dr L. Novak", "Nurse J. Reid"]
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, delimiter="\t")
        writer.writerow(
            [
                "receipt",
                "practice",
                "practice_name",
                "lot",
                "sku",
                "units",
                "signed_by",
                "signed_on",
                "practice_city",
            ]
        )
        for n, (order_id, customer, placed) in enumerate(orders[::3]):
            signed = placed + timedelta(days=2)
            writer.writerow([
                f"SR-{order_id}", customer.order_entry_id, customer.order_entry_name,
                f"L{rng.randint(1000, 9999)}", rng.choice(PRODUCTS)[0], rng.randint(1, 20),
                "" if n == 7 else rng.choice(clinicians),  # one unsigned receipt: quarantined
                signed.strftime("%Y-%m-%d %H:%M"), customer.city,
            ])  # fmt: skip


def source_configs(paths: dict[str, Path], api_url: str = "http://127.0.0.1:8701") -> list[dict]:
    """The source systems that read the estate: configuration only, no code."""
    return [
        {
            "name": "Order entry: orders",
            "system": "order-entry",
            "department": "sales",
            "kind": "sql",
            "entity": "orders",
            "config": {
                "dsn_env": "DEMO_ORDER_ENTRY_DSN",
                "table": "orders",
                "cursor_column": "updated_at",
                "key_column": "id",
                "fields": {
                    "external_id": "id",
                    "customer_id": "cust_no",
                    "customer_name": "cust_name",
                    "customer_city": "city",
                    "number": "order_no",
                    "status": "status",
                    "ordered_at": {"from": "placed", "type": "datetime"},
                    "currency": {"from": "currency", "type": "currency"},
                    "total": {"from": "total", "type": "decimal", "min": 0},
                },
            },
        },
        {
            "name": "Order entry: order lines",
            "system": "order-entry",
            "department": "sales",
            "kind": "sql",
            "entity": "order_lines",
            "config": {
                "dsn_env": "DEMO_ORDER_ENTRY_DSN",
                "table": "order_lines",
                "cursor_column": "updated_at",
                "key_column": "id",
                "fields": {
                    "external_id": "id",
                    "order_id": "order_id",
                    "product_code": "sku",
                    "product_name": {"from": "description", "required": False},
                    "quantity": {"from": "qty", "type": "decimal", "min": 0},
                    "unit_price": {"from": "price", "type": "decimal", "min": 0},
                    "lot": {"from": "lot", "required": False},
                },
            },
        },
        {
            "name": "Fulfilment: shipments",
            "system": "order-entry",  # fulfilment quotes order-entry order numbers
            "department": "logistics",
            "kind": "csv",
            "entity": "shipments",
            "config": {
                "path": str(paths["fulfilment"]),
                "settle_seconds": 0,  # written complete just before the demo syncs
                "fields": {
                    "external_id": "Shipment Ref",
                    "order_id": "Order No",
                    "carrier": "Carrier",
                    "tracking_number": "Tracking",
                    "status": "Status",
                    "shipped_at": {
                        "from": "Shipped",
                        "type": "datetime",
                        "format": "%d/%m/%Y %H:%M",
                        "tz": "Europe/London",
                    },
                    "delivered_at": {
                        "from": "Delivered",
                        "type": "datetime",
                        "format": "%d/%m/%Y %H:%M",
                        "tz": "Europe/London",
                    },
                },
            },
        },
        {
            "name": "Billing: invoices",
            "system": "billing",
            "department": "billing",
            "kind": "csv",
            "entity": "invoices",
            "config": {
                "path": str(paths["billing"]),
                "settle_seconds": 0,  # written complete just before the demo syncs
                "order_system": "order-entry",  # invoices quote order-entry order numbers
                "encoding": "auto",
                "delimiter": "auto",
                "fields": {
                    "external_id": "Rechnung",
                    "number": "Rechnung",
                    "customer_id": "KundeNr",
                    "customer_name": "Kunde",
                    "customer_city": "Ort",
                    "amount": {"from": "Betrag", "type": "decimal", "decimal_comma": True},
                    "currency": {"from": "Währung", "type": "currency"},
                    "issued_on": {"from": "Datum", "type": "date", "format": "%d.%m.%Y"},
                    "due_on": {"from": "Fällig", "type": "date", "format": "%d.%m.%Y"},
                    "paid_on": {"from": "Bezahlt", "type": "date", "format": "%d.%m.%Y"},
                    "product_line": "Produktlinie",
                    "order_id": "Auftrag",
                    "payment_url": "Zahlungslink",
                },
            },
        },
        {
            "name": "Help desk: old tickets",
            "system": "helpdesk",
            "department": "customer_success",
            "kind": "http",
            "entity": "tickets",
            "config": {
                "url": f"{api_url}/helpdesk/tickets/",
                "token_env": "DEMO_LEGACY_API_TOKEN",
                "fields": {
                    "external_id": "ticket_id",
                    "customer_id": "account",
                    "customer_name": "account_name",
                    "customer_city": "city",
                    "subject": "title",
                    "status": "state",
                    "category": "category",
                    "opened_at": {"from": "created", "type": "datetime"},
                    "closed_at": {"from": "closed", "type": "datetime"},
                },
            },
        },
        {
            "name": "CRM: accounts",
            "system": "crm",
            "department": "sales",
            "kind": "http",
            "entity": "accounts",
            "config": {
                "url": f"{api_url}/crm/accounts/",
                "token_env": "DEMO_LEGACY_API_TOKEN",
                "fields": {
                    "external_id": "id",
                    "name": "company",
                    "customer_number": "customer_no",
                    "city": "city",
                    "segment": "segment",
                },
            },
        },
        {
            "name": "Contracts: agreed prices",
            "system": "contracts",
            "department": "sales",
            "kind": "sql",
            "entity": "prices",
            "config": {
                "dsn_env": "DEMO_CONTRACTS_DSN",
                "table": "agreements",
                "cursor_column": "changed",
                "key_column": "id",
                "fields": {
                    "external_id": "id",
                    "customer_id": "account",
                    "customer_name": "account_name",
                    "customer_city": "town",
                    "product_code": "sku",
                    "unit_price": {"from": "price", "type": "decimal", "min": 0},
                    "currency": {"from": "currency", "type": "currency"},
                    "valid_from": {"from": "valid_from", "type": "date"},
                    "valid_until": {"from": "valid_to", "type": "date"},
                },
            },
        },
        {
            "name": "Sample accountability: receipts",
            "system": "order-entry",  # practices are named by their order-entry ids
            "department": "product",
            "kind": "csv",
            "entity": "samples",
            "config": {
                "path": str(paths["samples"]),
                "settle_seconds": 0,  # written complete just before the demo syncs
                "delimiter": "\t",
                "fields": {
                    "external_id": "receipt",
                    "customer_id": "practice",
                    "customer_name": "practice_name",
                    "customer_city": "practice_city",
                    "lot": "lot",
                    "product_code": "sku",
                    "quantity": {"from": "units", "type": "decimal", "min": 0},
                    "recipient": "signed_by",
                    "signed_at": {
                        "from": "signed_on",
                        "type": "datetime",
                        "format": "%Y-%m-%d %H:%M",
                        "tz": "Europe/London",
                    },
                },
            },
        },
    ]
