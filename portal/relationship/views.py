"""The relationship screens: reviews, commitments, an account's health and what is due."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import selectors as account_selectors
from accounts.decorators import customer_screen, staff_only
from accounts.platform.page_cache import page_cache
from config.forms import save_then_redirect
from portal.relationship import charts, health, pack, pack_files, selectors, services
from portal.relationship.forms import CommitmentForm, EngagementForm, ReviewPackForm


@customer_screen
def reviews(request):
    """The customer's reviews and health checks: summaries and next steps, never our notes."""
    organisation = request.organisation
    return render(
        request,
        "portal/reviews.html",
        {
            "engagements": selectors.engagement_list(
                user=request.user, organisation=organisation, for_customer=True
            )[:100],
            "upcoming_review": selectors.upcoming_review(organisation=organisation),
        },
    )


@customer_screen
def commitments(request):
    """What we promised the customer, open ones first; overdue ones say so."""
    return render(
        request,
        "portal/commitments.html",
        {
            "commitments": selectors.commitment_list(
                user=request.user, organisation=request.organisation
            )[:200],
        },
    )


@staff_only
def account(request, pk: int):
    """One account for staff: health and why, the trend, reviews due, engagements, commitments."""
    # The account with its schedule decides the 404 too: one query where a second, for
    # the organisation alone, only served kept pages (the page's budget holds when built).
    account = selectors.account_get(user=request.user, pk=pk)
    kept = page_cache(
        request, "account", lambda: _account(request, account), organisation_ids=[account.pk]
    )
    context = {"organisation": account, "page_cache": kept}
    return render(request, "portal/account.html", context)


def _account(request, organisation) -> dict:
    history = health.health_history(organisation=organisation)
    latest = history[-1] if history else None
    return {
        "today": timezone.localdate(),
        "health": latest,
        "breakdown": health.health_breakdown(latest) if latest else [],
        "reasons": health.health_reasons(latest) if latest else "",
        "history": history,
        "trend_svg": charts.health_trend_svg(history),
        "team": account_selectors.account_team(organisation=organisation),
        "engagements": selectors.engagement_list(
            user=request.user, organisation=organisation, for_customer=False
        )[:50],
        "commitments": selectors.commitment_list(user=request.user, organisation=organisation)[
            :100
        ],
        "lapses": selectors.account_sponsor_lapses(user=request.user, organisation=organisation.pk),
    }


def _organisation_for_staff(request, pk: int):
    if not request.user.is_employee:
        raise Http404
    return account_selectors.organisation_get(user=request.user, pk=pk)


def _back_to_account(request, form, organisation, save, message: str):
    return save_then_redirect(
        request, form, save, to=reverse("portal:account", args=[organisation.pk]), message=message
    )


def _edit_page(request, form, organisation, title: str, **extra):
    context = {"form": form, "organisation": organisation, "title": title, **extra}
    status = 400 if form.errors else 200
    return render(request, "portal/relationship_form.html", context, status=status)


@staff_only
def engagement_create(request, pk: int):
    organisation = _organisation_for_staff(request, pk)
    form = EngagementForm(
        request.POST or None,
        organisation=organisation,
        user=request.user,
        initial={"on": timezone.localdate(), "attendees": [request.user.pk]},
    )

    def save(data):
        services.engagement_record(
            by=request.user, organisation=organisation, via_view_as=request.viewing_as, **data
        )

    return _back_to_account(
        request, form, organisation, save, _("Engagement recorded.")
    ) or _edit_page(request, form, organisation, "Record an engagement")


@staff_only
def engagement_edit(request, pk: int):
    engagement = selectors.engagement_get(user=request.user, pk=pk)
    organisation = engagement.organisation
    initial = {
        name: getattr(engagement, name) for name in [*services.ENGAGEMENT_FIELDS, "internal_notes"]
    }
    initial["attendees"] = list(engagement.attendees.values_list("pk", flat=True))
    form = EngagementForm(
        request.POST or None, organisation=organisation, user=request.user, initial=initial
    )

    def save(data):
        attendees = list(data.pop("attendees"))
        services.engagement_update(
            by=request.user,
            engagement=engagement,
            attendees=attendees,
            via_view_as=request.viewing_as,
            **data,
        )

    title = f"{engagement.get_kind_display()} of {engagement.on:%-d %B %Y}"
    return _back_to_account(
        request, form, organisation, save, _("Engagement saved.")
    ) or _edit_page(request, form, organisation, title, engagement=engagement)


@staff_only
def commitment_create(request, pk: int):
    organisation = _organisation_for_staff(request, pk)
    form = CommitmentForm(
        request.POST or None, organisation=organisation, initial={"owner": request.user.pk}
    )
    form.fields.pop("status")  # a new promise is open

    def save(data):
        services.commitment_create(
            by=request.user, organisation=organisation, via_view_as=request.viewing_as, **data
        )

    message = _("Commitment added. The customer sees it on their portal.")
    return _back_to_account(request, form, organisation, save, message) or _edit_page(
        request, form, organisation, "Add a commitment"
    )


@staff_only
def commitment_edit(request, pk: int):
    commitment = selectors.commitment_get(user=request.user, pk=pk)
    organisation = commitment.organisation
    initial = {name: getattr(commitment, name) for name in services.COMMITMENT_FIELDS}
    form = CommitmentForm(request.POST or None, organisation=organisation, initial=initial)

    def save(data):
        services.commitment_update(
            by=request.user, commitment=commitment, via_view_as=request.viewing_as, **data
        )

    return _back_to_account(
        request, form, organisation, save, _("Commitment saved.")
    ) or _edit_page(request, form, organisation, commitment.title, commitment=commitment)


@staff_only
def review_pack(request, pk: int):
    """The AM's page of an engagement's pack: summary and next steps, preview, share."""
    engagement, current = pack.pack_for_staff(user=request.user, engagement_pk=pk)
    source = current or engagement  # a first draft starts from the engagement's notes
    form = ReviewPackForm(
        request.POST or None,
        initial={"summary": source.summary, "next_steps": source.next_steps},
    )

    def save(data):
        return services.review_pack_save(
            by=request.user,
            engagement=engagement,
            share=request.POST.get("action") == "share",
            via_view_as=request.viewing_as,
            **data,
        )

    def saved_message(saved) -> str:
        if saved.is_shared:
            return _("Pack saved. The customer can download it from their Reviews page.")
        return _("Draft saved. Only staff can open it.")

    to = reverse("portal:review_pack", args=[pk])
    return save_then_redirect(request, form, save, to=to, message=saved_message) or render(
        request,
        "portal/review_pack.html",
        {
            "form": form,
            "engagement": engagement,
            "organisation": engagement.organisation,
            "pack": current,
            "period": (current.period_start, current.period_end)
            if current
            else selectors.pack_period(engagement),
        },
        status=400 if form.errors else 200,
    )


PACK_FORMATS = {
    "pdf": ("application/pdf", pack_files.pack_pdf),
    "pptx": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        pack_files.pack_pptx,
    ),
}


@login_required
def review_pack_file(request, pk: int, fmt: str):
    """The pack as a PDF or slides, drawn from live data: customers get shared packs,
    the account team drafts too (the preview); anyone else a 404."""
    content_type, render_file = PACK_FORMATS[fmt]
    shared_pack = pack.pack_get(user=request.user, engagement_pk=pk)
    figures = pack.pack_figures(user=request.user, pack=shared_pack)
    response = HttpResponse(render_file(figures), content_type=content_type)
    name = f"business-review-{shared_pack.period_end:%Y-%m-%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
