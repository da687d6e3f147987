from accounts import policy
from accounts.selectors import customer_organisations


def portal_context(request):
    """What the page frame needs: the organisation shown, view-as, the switcher.

    Values that cost a query are lazy, so pages that don't render them
    don't pay for them.
    """
    user = getattr(request, "user", None)
    organisation = getattr(request, "organisation", None)
    viewing_as = getattr(request, "viewing_as", False)
    # Read with the organisation shown (CurrentOrganisationMiddleware), else when rendered.
    switchable = getattr(request, "customer_organisations", None)
    if switchable is None:
        customer = user is not None and user.is_authenticated and not user.is_employee
        switchable = customer_organisations(user=user) if customer else []  # lazy

    def can_manage_members() -> bool:
        if viewing_as:  # staff viewing as manage members: CurrentOrganisationMiddleware
            return True  # checked policy.can_view_as for this request already
        return organisation is not None and policy.can_manage_members(
            user, organisation, viewing_as=False
        )

    return {
        "current_organisation": organisation,
        "viewing_as": viewing_as,
        "switchable_organisations": switchable,
        "can_manage_members": can_manage_members,
        "may_match_identities": policy.may_match_identities(user),
    }
