"""scripts/bench_load.py's logic: the journeys its people walk, and the browser's reading of
the pages (the reply form's token, the static files, cookies, the server's CPU log)."""

import itertools
import os
import random
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlencode, urlsplit

import pytest
from django.urls import resolve
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets import services
from tickets.models import Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import bench_load  # a script beside bench.py and bench_pages.py, which it imports

ARGS = SimpleNamespace(think_s=3.0, think_cap_s=15.0, reply_share=0.5)
CUSTOMER = bench_load.Person(
    "customer", "c@x", "sessionid=s; csrftoken=t", order="/orders/7/", ticket="/tickets/9/",
    search="SO-00001-0001",
)  # fmt: skip
AM = bench_load.Person(
    "AM", "a@x", "sessionid=s", ticket="/tickets/9/", account="/workspace/accounts/3/"
)
NOBODY_S = bench_load.Person("customer", "n@x", "sessionid=s")  # no orders, no tickets


@settings(deadline=None)  # the first example loads the URLconf
@given(
    person=st.sampled_from([CUSTOMER, AM, NOBODY_S]),
    seed=st.integers(0, 2**32),
    reply_share=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_every_journey_is_one_a_browser_could_walk(person, seed, reply_share):
    args = SimpleNamespace(**{**vars(ARGS), "reply_share": reply_share})
    steps = bench_load.journey(person, random.Random(seed), args)

    assert steps[0].path == "/"  # everyone starts at their home
    assert all(step.kind.startswith(f"{person.role}: ") for step in steps)
    assert all(0 <= step.think <= args.think_cap_s for step in steps)
    for before, step in zip([None, *steps], steps, strict=False):
        view = resolve(urlsplit(step.path).path).url_name
        if step.reply:  # posted from the ticket page just opened, to that ticket
            assert (before.path, view) == (person.ticket, "reply")
            assert step.path == f"{person.ticket}reply/"
        if step.htmx:  # the partials the orders and timeline pages ask for
            assert view in ("orders", "timeline")
            assert urlsplit(step.path).query
    paths = {step.path for step in steps}
    # Their own things, and never one of a kind they have none of.
    for thing, prefix in (("order", "/orders/"), ("ticket", "/tickets/"),
                          ("account", "/workspace/accounts/")):  # fmt: skip
        opened = {p for p in paths if p.startswith(prefix) and p[len(prefix) :][:1].isdigit()}
        mine = getattr(person, thing)
        assert opened <= ({mine, f"{mine}reply/"} if mine else set())
    replies = [step for step in steps if step.reply]
    if reply_share == 0 or not person.ticket:
        assert replies == []
    if reply_share == 1 and person.ticket in paths:
        assert len(replies) == 1


@pytest.mark.parametrize("person", [CUSTOMER, AM])
def test_over_a_few_journeys_a_person_opens_every_kind_of_page_of_their_role(person):
    rng = random.Random(2)
    kinds = Counter(s.kind for _ in range(50) for s in bench_load.journey(person, rng, ARGS))

    expected = {
        "customer": ["home", "orders", "orders search (htmx)", "orders by status (htmx)",
                     "order", "invoices", "deliveries", "timeline", "timeline kind (htmx)",
                     "tickets", "ticket", "ticket reply (POST)", "tier"],
        "AM": ["my accounts", "work queue", "account", "ticket queue", "ticket",
               "ticket reply (POST)", "renewals", "customer value (80/20)", "tier fit"],
    }[person.role]  # fmt: skip
    assert set(kinds) == {f"{person.role}: {kind}" for kind in expected}
    assert kinds[f"{person.role}: {expected[0]}"] == 50  # every journey starts at home


@given(text=st.text(min_size=0, max_size=30), seed=st.integers(0, 2**32))
def test_typing_sends_growing_prefixes_ending_with_the_whole_text(text, seed):
    sent = bench_load.typed(text, random.Random(seed))

    assert sent[-1] == text
    assert all(text.startswith(prefix) for prefix in sent)
    assert all(len(a) < len(b) for a, b in itertools.pairwise(sent))
    assert all(len(prefix) >= 3 for prefix in sent[:-1])


@given(organisations=st.integers(2, 5000), count=st.integers(1, 400))
def test_customers_spread_over_the_organisations_from_the_largest(organisations, count):
    ranks = bench_load.customer_ranks(organisations, count)

    assert ranks[0] == 1
    assert organisations // 2 + 1 in ranks
    assert all(1 <= rank <= organisations for rank in ranks)
    assert len(ranks) == len(set(ranks)) <= min(count, organisations) + 2


def test_think_times_are_exponential_and_capped():
    rng = random.Random(4)
    times = [bench_load.think_time(rng, 3.0, 15.0) for _ in range(20_000)]

    assert max(times) == 15.0
    assert min(times) >= 0
    assert 2.7 < sum(times) / len(times) < 3.1  # the cap takes a little off the mean of 3
    assert bench_load.think_time(rng, 0, 15.0) == 0


def test_the_browser_keeps_and_drops_cookies_as_the_server_says():
    browser = bench_load.Browser(CUSTOMER, 1, bench_load.Tally(), 1)
    answer = bench_load.Answer(200, {"set-cookie": [
        'messages="abc"; HttpOnly; Path=/; SameSite=Lax; Secure',
        "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
    ]}, b"")  # fmt: skip
    browser.keep_cookies(answer)

    assert browser.cookies == {"sessionid": "s", "messages": "abc"}
    assert browser.headers("customer: home", htmx=True)["Cookie"] == "sessionid=s; messages=abc"


def test_the_server_log_gives_each_kind_its_cpu_and_kept_content(tmp_path):
    (tmp_path / "1.ms").write_text(
        "10.0 1 0 12.0 customer%3A%20home\n30.0 0 1 40.0 customer%3A%20home\n"
    )
    (tmp_path / "2.ms").write_text("5.0 0 0 6.0 AM%3A%20static%20file\n2.0 0 0 2.5\n")

    assert bench_load.server_log(tmp_path) == {
        "customer: home": {"cpu_median_ms": 20.0, "wall_median_ms": 26.0, "hits": 1, "misses": 1},
        "AM: static file": {"cpu_median_ms": 5.0, "wall_median_ms": 6.0, "hits": 0, "misses": 0},
    }


@pytest.mark.parametrize("who", ["member_a", "am_a"])
def test_a_reply_as_the_load_posts_it_lands_from_the_ticket_page(client, world, who):
    """What the load's browser reads off a ticket page (the static files, the reply form's
    token) is there, and the fields it posts save a public reply and redirect back."""
    ticket = services.ticket_create(organisation=world.org_a, requester=world.member_a,
                                    subject="Parcel", category="delivery", priority="normal",
                                    body="Where is it?")  # fmt: skip
    client.force_login(getattr(world, who))
    page = client.get(f"/tickets/{ticket.pk}/").content

    token = bench_load.CSRF_FIELD.search(page)
    assert token is not None
    assert any(a.endswith(b".css") for a in bench_load.ASSET.findall(page))
    fields = {"csrfmiddlewaretoken": token.group(1).decode(), "kind": "reply", "body": "Any news?"}
    answer = client.post(f"/tickets/{ticket.pk}/reply/", urlencode(fields),
                         content_type="application/x-www-form-urlencoded")  # fmt: skip

    assert answer.status_code == 302
    assert answer["Location"].startswith(f"/tickets/{ticket.pk}/")
    assert Message.objects.filter(ticket=ticket, body="Any news?", is_internal=False).exists()


@pytest.mark.slow
def test_the_load_runs_journeys_and_writes_against_real_servers_without_errors(tmp_path):
    """The whole script at a tiny scale: both settings of kept content, every ticket visit
    ending in a reply, writes every few seconds; it must end without an error."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, root / "scripts/bench_load.py", "--organisations", "30",
         "--orders", "1500", "--tickets", "300", "--customers", "10", "--ams", "2",
         "--duration", "16", "--warmup", "2", "--write-every", "8", "--think-s", "0.5",
         "--think-cap-s", "1.5", "--reply-share", "1", "--workers", "2",
         "--db-name", f"test_bench_load_{os.getpid()}"],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for mode in ("on", "off"):
        writes = next(line for line in done.stdout.splitlines()
                      if line.startswith(f"Writes with kept content {mode}:"))  # fmt: skip
        assert "(0 failed)" in writes
        assert re.search(r"\b[1-9]\d* sync batches", writes)
        assert re.search(r"\b[1-9]\d* written", writes)
        assert re.search(r"\b[1-9]\d* SLA scans", writes)
        assert re.search(r"\b[1-9]\d* replies posted", writes)
    assert re.search(r"\| (customer|AM): ticket after a reply \|", done.stdout)  # redirect followed
    # Static files are fetched on each person's first page, which may fall in the warm-up
    # (it lasts until the writers are ready); test_a_reply_as_the_load_posts_it_* finds them.
