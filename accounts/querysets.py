"""Querysets that apply the access policy; see accounts/policy.py."""

from django.db import models

from accounts import policy


class OrganisationQuerySet(models.QuerySet):
    def visible_to(self, user):
        return self.filter(policy.organisation_q(user, "pk"))


class OrganisationOwnedQuerySet(models.QuerySet):
    """For models with a foreign key to the organisation they belong to.

    Subclasses whose path to the organisation is longer set
    `organisation_field` (e.g. "order__organisation").
    """

    organisation_field = "organisation"

    def visible_to(self, user, *, as_list: bool = False):
        """Rows of the organisations the user may see (as_list: see policy.organisation_q)."""
        return self.filter(policy.organisation_q(user, self.organisation_field, as_list=as_list))

    def for_organisation(self, organisation):
        return self.filter(**{self.organisation_field: organisation})


class MembershipQuerySet(OrganisationOwnedQuerySet):
    def active(self):
        """Memberships in force: a customer acts for these organisations (not deactivated)."""
        return self.filter(is_active=True)


class AccountAssignmentQuerySet(OrganisationOwnedQuerySet):
    def current(self):
        """The account-team terms held now (not ended): who looks after an account."""
        return self.filter(ended_at__isnull=True)
