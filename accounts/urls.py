from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts import sso_views, views, webhook_views

app_name = "accounts"

urlpatterns = [
    path("api-tokens/", views.api_tokens, name="api_tokens"),
    path("api-tokens/<int:pk>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/code/", views.two_factor_login, name="two_factor_login"),
    path("two-factor/", views.two_factor_page, name="two_factor"),
    path(
        "two-factor/recovery-codes/",
        views.two_factor_recovery_codes,
        name="two_factor_recovery_codes",
    ),
    path("two-factor/disable/", views.two_factor_disable, name="two_factor_disable"),
    path("logout/", sso_views.LogoutView.as_view(), name="logout"),
    path("sso/start/", sso_views.sso_start, name="sso_start"),
    path("sso/", sso_views.sso_settings, name="sso"),
    path("sso/domains/", sso_views.sso_domain_add, name="sso_domain_add"),
    path(
        "sso/domains/<int:claim_id>/delete/", sso_views.sso_domain_delete, name="sso_domain_delete"
    ),
    path("sso/domains/verify/<str:token>/", sso_views.sso_domain_verify, name="sso_domain_verify"),
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
    path("organisation/switch/", views.organisation_switch, name="organisation_switch"),
    path("view-as/<int:organisation_id>/", views.view_as_start, name="view_as_start"),
    path("view-as/exit/", views.view_as_exit, name="view_as_exit"),
    path("members/", views.member_list, name="members"),
    path("members/invite/", views.member_invite, name="member_invite"),
    path("members/two-factor/", views.member_two_factor, name="member_two_factor"),
    path(
        "members/invitations/<int:invitation_id>/resend/",
        views.member_invitation_resend,
        name="member_invitation_resend",
    ),
    path(
        "members/invitations/<int:invitation_id>/revoke/",
        views.member_invitation_revoke,
        name="member_invitation_revoke",
    ),
    path(
        "members/<int:membership_id>/deactivate/",
        views.member_deactivate,
        name="member_deactivate",
    ),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("handoff/", views.team_handoff, name="team_handoff"),
    path("webhooks/", webhook_views.webhook_list, name="webhooks"),
    path("webhooks/<int:pk>/", webhook_views.webhook_detail, name="webhook"),
    path("webhooks/<int:pk>/rotate/", webhook_views.webhook_rotate, name="webhook_rotate"),
    path("webhooks/<int:pk>/enable/", webhook_views.webhook_enable, name="webhook_enable"),
    path("webhooks/<int:pk>/delete/", webhook_views.webhook_delete, name="webhook_delete"),
]
