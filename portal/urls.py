from django.urls import path

from portal.am_tasks import views as am_tasks
from portal.records import exports
from portal.records import views as records
from portal.relationship import views as relationship
from portal.sync import views as sync
from portal.timeline import views as timeline
from portal.value import views as value
from portal.workspace import views as workspace

app_name = "portal"

urlpatterns = [
    # The customer's records and timeline ...
    path("orders/", records.order_list, name="orders"),
    path("orders/<int:pk>/", records.order_detail, name="order"),
    path("orders/<int:pk>/reorder/", records.order_reorder, name="order_reorder"),
    path("shipments/", records.shipment_list, name="shipments"),
    path("invoices/", records.invoice_list, name="invoices"),
    path("invoices/<int:pk>/", records.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/pdf/", records.invoice_pdf, name="invoice_pdf"),
    path("orders/export.csv", exports.orders_csv, name="orders_csv"),
    path("invoices/export.csv", exports.invoices_csv, name="invoices_csv"),
    path("invoices/statement.pdf", records.statement_pdf, name="statement_pdf"),
    path("timeline/", timeline.timeline, name="timeline"),
    # ... the relationship, the customer's side ...
    path("reviews/", relationship.reviews, name="reviews"),
    path("commitments/", relationship.commitments, name="commitments"),
    path(
        "reviews/<int:pk>/pack.pdf",
        relationship.review_pack_file,
        {"fmt": "pdf"},
        name="review_pack_pdf",
    ),
    path(
        "reviews/<int:pk>/pack.pptx",
        relationship.review_pack_file,
        {"fmt": "pptx"},
        name="review_pack_pptx",
    ),
    # ... and the account team's.
    path("workspace/queue/", workspace.work_queue, name="work_queue"),
    path("workspace/renewals/", workspace.renewals, name="renewals"),
    path("workspace/tasks/", am_tasks.task_list, name="am_tasks"),
    path("workspace/tasks/<int:pk>/done/", am_tasks.task_done, name="am_task_done"),
    path("workspace/tasks/<int:pk>/snooze/", am_tasks.task_snooze, name="am_task_snooze"),
    path("workspace/identities/", sync.identity_queue, name="identity_queue"),
    path("workspace/identities/accept/", sync.identity_accept, name="identity_accept"),
    path("workspace/identities/<int:pk>/", sync.identity_detail, name="identity"),
    path("workspace/identities/<int:pk>/match/", sync.identity_match, name="identity_match"),
    path("workspace/identities/<int:pk>/unmatch/", sync.identity_unmatch, name="identity_unmatch"),
    path(
        "workspace/identities/<int:pk>/not-ours/", sync.identity_not_ours, name="identity_not_ours"
    ),
    path(
        "workspace/identities/<int:pk>/new-organisation/",
        sync.identity_new_organisation,
        name="identity_new_organisation",
    ),
    path("workspace/sources/", sync.source_list, name="sync_sources"),
    path("workspace/sources/<int:pk>/", sync.source_detail, name="sync_source"),
    path("workspace/sources/<int:pk>/run/", sync.source_run_now, name="sync_run_now"),
    path("workspace/runs/<int:pk>/progress/", sync.run_progress, name="sync_run_progress"),
    path("workspace/accounts/<int:pk>/", relationship.account, name="account"),
    path(
        "workspace/accounts/<int:pk>/engagements/new/",
        relationship.engagement_create,
        name="engagement_create",
    ),
    path("workspace/engagements/<int:pk>/", relationship.engagement_edit, name="engagement_edit"),
    path("workspace/engagements/<int:pk>/pack/", relationship.review_pack, name="review_pack"),
    path(
        "workspace/accounts/<int:pk>/commitments/new/",
        relationship.commitment_create,
        name="commitment_create",
    ),
    path("workspace/commitments/<int:pk>/", relationship.commitment_edit, name="commitment_edit"),
    # Customer value (it reads the synced invoices), beside the tier pages.
    path("tier/value/", value.value_pareto, name="value"),
    path("tier/value/fit/", value.value_tier_fit, name="tier_fit"),
]
