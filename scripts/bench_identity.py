"""Identity-resolution benchmark: `make bench`, or `python scripts/bench_identity.py [options]`.

Generates the estate of portal/demo/identity_estate.py (5,000 organisations, 10,000
identities across four legacy systems by default, each system spelling names its own
way, 1 % of organisations sharing a name, 4 % strangers), writes it to a throwaway
PostgreSQL database and runs the engine over the whole queue
(`portal.sync.identity.resolve_queue`: building the index, scoring, writing every
verdict, auditing and linking the automatic matches). Reports the time and the
accuracy against the ground truth, and writes both to var/bench/identity.json.

Targets (issue 14): automatic matches 100 % correct; at least 95 % of the identities
with a true organisation matched automatically; the true organisation in the top 3
candidates for at least 99 % of the rest; strangers never matched; under 10 s.

    scripts/with-services.sh .venv/bin/python scripts/bench_identity.py --identities 2000
"""

from __future__ import annotations

import argparse
import time

from bench import run_in_throwaway_database, write_figures
from bench_pages import sessions_for


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--organisations", type=int, default=5000)
    parser.add_argument("--identities", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db-name", default="portal_bench_identity")
    return parser.parse_args(argv)


def run(args) -> list[tuple[str, str]]:
    from django.db import connection

    from portal.demo.identity_estate import estate_load, estate_score, generate
    from portal.sync import identity
    from portal.sync.matching import OrganisationIndex

    start = time.perf_counter()
    estate = generate(args.organisations, identities=args.identities, seed=args.seed)
    pks = estate_load(estate)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    rows = [
        (
            "estate",
            f"{len(estate.organisations):,} organisations, {len(estate.sightings):,} identities,"
            f" {len(estate.deliveries):,} deliveries",
        )
    ]
    rows.append(("generation and load", f"{time.perf_counter() - start:.1f} s"))

    start = time.perf_counter()
    index = OrganisationIndex.build()
    built = time.perf_counter() - start
    result = identity.resolve_queue(index=index)
    total = time.perf_counter() - start
    score = estate_score(estate, pks)
    rows += [
        ("resolve the whole queue", f"{total:.2f} s (index built in {built:.2f} s)"),
        ("matched automatically", f"{result['matched']:,}; waiting {result['waiting']:,}"),
        (
            "automatic and right",
            f"{score['auto'] - score['auto_wrong']:,} of {score['auto']:,}"
            f" ({score['auto_wrong']} wrong)",
        ),
        (
            "with a true organisation, matched automatically",
            f"{score['auto_percent']:.2f} % of {score['with_organisation']:,}",
        ),
        (
            "the rest: true organisation in the top 3",
            f"{score['top3_percent']:.2f} % of {score['rest']:,}",
        ),
        ("strangers matched", f"{score['strangers_matched']} of {score['strangers']:,}"),
        (
            "deliveries naming another customer: held",
            f"{score['conflicts_held']} of {score['conflicts']}; agreeing ones held:"
            f" {score['held_wrongly']}; shown to the wrong organisation:"
            f" {score['shown_to_wrong_organisation']}",
        ),
    ]
    pages = review_pages()
    rows += [(f"review page: {label}", f"median {ms:.0f} ms") for label, ms in pages.items()]
    _write(args, score | {"review_pages_ms": pages}, total)
    return rows


def review_pages(repeat: int = 5) -> dict[str, float]:
    """The review screens at this size, in process (Django's test client, an admin):
    the queue, a waiting customer's page, and its organisation search."""
    import statistics

    from django.test import Client
    from django.urls import reverse

    from accounts.choices import UserKind
    from accounts.models import User
    from portal.sync.models import CustomerIdentity

    admin = User.objects.create_user(
        email="bench-admin@portal.example", full_name="Bench Admin", kind=UserKind.ADMIN
    )
    client = Client()
    (cookie,) = sessions_for(admin, 1)  # signed in with the second factor, as a login ends
    name, _, key = cookie.partition("=")
    client.cookies[name] = key
    waiting = CustomerIdentity.objects.filter(status="waiting").exclude(candidates=[]).first()
    detail = reverse("portal:identity", args=[waiting.pk])
    urls = {
        "the queue": reverse("portal:identity_queue"),
        "a customer": detail,
        "a customer, searching 'clinic'": f"{detail}?q=clinic",
    }
    times = {}
    for label, url in urls.items():
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
        times[label] = statistics.median(samples)
    return times


def _write(args, score: dict, seconds: float) -> None:
    figures = {
        "organisations": args.organisations,
        "identities": score["identities"],
        "seed": args.seed,
        "seconds": round(seconds, 3),
        **score,
    }
    write_figures("identity", figures)


def main(argv=None) -> None:
    args = parse_args(argv)
    run_in_throwaway_database(args.db_name, "identity resolution", lambda: run(args))


if __name__ == "__main__":
    main()
