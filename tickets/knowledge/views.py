"""Knowledge-base screens: reading and search (customers, staff), suggestions while a ticket
is typed, "this answered my question", and staff's writing and insights."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import customer_screen, staff_only
from config.forms import save_then_redirect
from tickets import selectors as ticket_selectors
from tickets.knowledge import selectors, services
from tickets.knowledge.choices import ArticleStatus, Audience
from tickets.knowledge.forms import ArticleForm


@login_required
def article_list(request):
    """Customers: the articles for their organisation, and search. Staff outside "view as":
    every article they may see, drafts too, to write and edit."""
    organisation = request.organisation  # None on staff's own screens
    if organisation is None and not request.user.is_employee:
        return redirect("home")
    text = request.GET.get("q", "").strip()[:200]
    category = request.GET.get("category", "")
    if text:
        articles = selectors.article_search(
            user=request.user,
            organisation=organisation,
            text=text,
            language=selectors.customer_language(),
        )
    else:
        articles = selectors.article_list(
            user=request.user, organisation=organisation, category=category
        )
    context = {
        "articles": articles,
        "q": text,
        "category": category,
        "categories": selectors.categories(),
        "is_staff_view": organisation is None,
    }
    return render(request, "knowledge/list.html", context)


@login_required
def article_detail(request, pk: int):
    article = selectors.article_get(user=request.user, organisation=request.organisation, pk=pk)
    return render(
        request,
        "knowledge/article.html",
        {"article": article, "is_staff_view": request.user.is_employee},
    )


@customer_screen
def article_suggest(request):
    """The answers offered under a ticket's subject as it is typed (an htmx fragment)."""
    subject = request.GET.get("subject", "")[:200]
    articles = selectors.article_suggest(
        user=request.user,
        organisation=request.organisation,
        subject=subject,
        language=selectors.customer_language(),
    )
    return render(request, "knowledge/suggestions.html", {"suggestions": articles})


@require_POST
@customer_screen
def article_answered(request, pk: int):
    """ "This answered my question": no ticket is opened, and the article is credited."""
    article = selectors.article_get(user=request.user, organisation=request.organisation, pk=pk)
    if request.viewing_as:
        messages.info(request, _("Not counted: you are viewing as the customer."))
    else:
        services.deflection_record(
            article=article,
            person=request.user,
            organisation=request.organisation,
            subject=request.POST.get("subject", ""),
        )
        messages.success(request, _("Glad it helped. No ticket was opened."))
    return redirect(article.get_absolute_url())


def _article_saved(article) -> str:
    if article.status == ArticleStatus.PUBLISHED:
        return _("“%(title)s” is saved (published).") % {"title": article.title}
    return _("“%(title)s” is saved (draft).") % {"title": article.title}


def _article_form_page(request, article=None):
    initial = ArticleForm.initial_of(article) if article else {"audience": Audience.EVERYONE}
    form = ArticleForm(request.POST or None, initial=initial, user=request.user)

    def save(data):
        publish = {"publish": True, "unpublish": False}.get(request.POST.get("action"))
        return services.article_save(by=request.user, article=article, publish=publish, **data)

    saved = save_then_redirect(
        request,
        form,
        save,
        to=lambda saved: saved.get_absolute_url(),
        message=_article_saved,
    )
    if saved:
        return saved
    status = 400 if form.errors else 200
    return render(request, "knowledge/form.html", {"form": form, "article": article}, status=status)


@staff_only
def article_create(request):
    return _article_form_page(request)


@staff_only
def article_edit(request, pk: int):
    article = selectors.article_get(user=request.user, organisation=None, pk=pk)
    return _article_form_page(request, article)


@require_POST
@staff_only
def article_from_ticket(request, ticket_pk: int):
    """A resolved ticket becomes a draft article in one step; staff edit it next."""
    ticket = ticket_selectors.ticket_get(user=request.user, pk=ticket_pk)
    try:
        article = services.article_from_ticket(ticket=ticket, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(ticket.get_absolute_url())
    messages.success(request, _("A draft article was made from the ticket: edit it, then publish."))
    return redirect("knowledge:edit", article.pk)


@staff_only
def insights(request):
    period = request.GET.get("period", "90")
    days = selectors.PERIODS.get(period, 90)
    context = {
        "data": selectors.deflection_insights(user=request.user, days=days),
        "period": str(days),
        "periods": selectors.PERIODS,
        "list_url": reverse("knowledge:list"),
    }
    return render(request, "knowledge/insights.html", context)
