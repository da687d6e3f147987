"""`{% account_team_actions organisation team %}`: on an account's page, follow it (hear of
its new tickets) and, for its own account managers, hand over or name cover."""

from django import template

from accounts.choices import TeamRole
from accounts.cover import OWN_ROLES
from accounts.preferences import follows_account

register = template.Library()


@register.inclusion_tag("accounts/includes/account_team_actions.html", takes_context=True)
def account_team_actions(context, organisation, team):
    user = context["request"].user
    own = any(
        role in OWN_ROLES and assignment.user_id == user.pk for role, assignment in team.items()
    )
    return {
        "organisation": organisation,
        "own": own,
        "following": follows_account(user=user, organisation_id=organisation.pk),
        "no_backup": TeamRole.BACKUP_AM not in team,
        "csrf_token": context.get("csrf_token"),
    }
