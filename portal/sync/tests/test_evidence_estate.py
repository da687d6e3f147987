"""The adversarial estate (portal/demo/evidence_estate.py) at a test's size: issue 23's
accuracy targets, on PostgreSQL through the whole queue (the benchmark runs 5,000
organisations and 10,000 identities over several seeds)."""

import pytest

from portal.demo.evidence_estate import evidence_score, generate
from portal.demo.identity_estate import estate_load
from portal.sync import identity


@pytest.mark.parametrize("seed", [5, 11])
def test_on_the_adversarial_estate_the_rule_meets_the_targets(db, seed):
    estate = generate(1000, identities=2000, seed=seed)
    pks = estate_load(estate)

    identity.resolve_queue()

    score = evidence_score(estate, pks)
    assert score["strangers"] > 100
    assert score["auto_wrong"] == 0
    assert score["strangers_matched"] == 0
    assert score["corroborated_auto_percent"] >= 95
    assert score["waiting_first_percent"] >= 95
