"""A source's configuration is checked when it is saved (portal/sync/config.py)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from portal.demo import estate
from portal.sync.config import config_problems
from portal.sync.models import SourceSystem

GOOD = {
    "url": "https://helpdesk.internal/api/tickets/",
    "fields": {"external_id": "id", "customer_id": "cust", "subject": "subject",
               "status": "status", "opened_at": {"from": "opened", "type": "datetime"}},
}  # fmt: skip


def test_every_demo_source_passes_the_check(tmp_path):
    paths = {name: tmp_path / name for name in
             ("order_entry", "fulfilment", "billing", "contracts", "samples")}  # fmt: skip
    for spec in estate.source_configs(paths, api_url="http://127.0.0.1:8701"):
        assert (
            config_problems(kind=spec["kind"], entity=spec["entity"], config=spec["config"]) == []
        )


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({**GOOD, "tokn_env": "X"}, "Unknown key(s) 'tokn_env' for a http source"),
        ({k: v for k, v in GOOD.items() if k != "url"}, "Config key 'url' is required."),
        ({**GOOD, "fields": {**GOOD["fields"], "subject": {"from": "subject", "maxlen": 5}}},
         "unknown spec key(s) 'maxlen'"),
        ({**GOOD, "fields": {"external_id": "id"}}, "required field(s) not mapped"),
        ("not an object", "must be a JSON object"),
    ],
    ids=["typo key", "missing url", "typo spec", "unmapped field", "not an object"],
)  # fmt: skip
def test_a_configuration_with_a_mistake_is_refused_on_save_saying_what(config, problem, db):
    source = SourceSystem(
        name="Help desk", system="helpdesk", department="customer_success", kind="http",
        entity="tickets", config=config,
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    assert set(caught.value.message_dict) == {"config"}
    assert any(problem in message for message in caught.value.message_dict["config"])


def test_the_admin_form_refuses_a_typo_and_saves_nothing(client, world):
    client.force_login(world.admin)
    data = {
        "name": "Help desk", "system": "helpdesk", "department": "customer_success", "kind": "http",
        "entity": "tickets", "config": '{"url": "https://h.internal/", "tokn_env": "X"}',
        "schedule_minutes": 15, "full_every_hours": 24, "enabled": "on",
    }  # fmt: skip
    response = client.post(reverse("admin:portal_sourcesystem_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors.keys() == {"config"}
    assert "Unknown key(s) &#x27;tokn_env&#x27;" in response.content.decode()
    assert not SourceSystem.objects.exists()
