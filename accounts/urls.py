from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts.views import (
    api_tokens,
    handoff,
    members,
    notifications,
    organisation,
    preferences,
    sign_in,
    sso,
    team,
    two_factor,
    webhooks,
)

app_name = "accounts"

urlpatterns = [
    path("api-tokens/", api_tokens.api_tokens, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", api_tokens.api_token_revoke, name="api_token_revoke"),
    path("login/", sign_in.LoginView.as_view(), name="login"),
    path("login/code/", two_factor.two_factor_login, name="two_factor_login"),
    path("two-factor/", two_factor.two_factor_page, name="two_factor"),
    path(
        "two-factor/recovery-codes/",
        two_factor.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("two-factor/disable/", two_factor.two_factor_disable, name="two_factor_disable"),
    path("preferences/", preferences.preferences, name="preferences"),
    path("logout/", sso.LogoutView.as_view(), name="logout"),
    path("sso/start/", sso.sso_start, name="sso_start"),
    path("sso/", sso.sso_settings, name="sso"),
    path("sso/domains/", sso.sso_domain_add, name="sso_domain_add"),
    path("sso/domains/<int:claim_id>/delete/", sso.sso_domain_delete, name="sso_domain_delete"),
    path("sso/domains/verify/<str:token>/", sso.sso_domain_verify, name="sso_domain_verify"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(
            template_name="accounts/password_change_done.html"
        ),
        name="password_change_done",
    ),
    path(
        "password/reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            email_template_name="accounts/email/password_reset.txt",
            subject_template_name="accounts/email/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
            post_reset_login=False,
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    path("organisation/switch/", organisation.organisation_switch, name="organisation_switch"),
    path("view-as/<int:organisation_id>/", organisation.view_as_start, name="view_as_start"),
    path("view-as/exit/", organisation.view_as_exit, name="view_as_exit"),
    path("members/", members.member_list, name="members"),
    path("members/invite/", members.member_invite, name="member_invite"),
    path("members/two-factor/", members.member_two_factor, name="member_two_factor"),
    path(
        "members/invitations/<int:invitation_id>/resend/",
        members.member_invitation_resend,
        name="member_invitation_resend",
    ),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        members.member_invitation_revoke,
        name="member_invitation_revoke",
    ),
    path(
        "members/<int:membership_id>/deactivate/",
        members.member_deactivate,
        name="member_deactivate",
    ),
    path("invitations/<str:token>/", members.invitation_accept, name="invitation_accept"),
    path("handoff/", handoff.team_handoff, name="team_handoff"),
    path("webhooks/", webhooks.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", webhooks.webhook_detail, name="webhook"),
    path("webhooks/<int:pk>/rotate/", webhooks.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/enable/", webhooks.webhook_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/delete/", webhooks.webhook_delete, name="webhook_delete"),
    path("notifications/", notifications.notification_preferences, name="notifications"),
    path("notifications/stop/<str:token>/", notifications.unsubscribe, name="unsubscribe"),
    path("organisations/<int:pk>/follow/", notifications.account_follow, name="account_follow"),
    path("organisations/<int:pk>/team/", team.own_team, name="own_team"),
]
