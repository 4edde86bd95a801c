from django.contrib.auth import views as auth_views
from django.urls import path

from portal.accounts import sso, views

auth_patterns = [
    path("login/", views.PlatformLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/change/", views.AuditedPasswordChangeView.as_view(), name="password_change"),
    path("password/change/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", views.AuditedPasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", views.AuditedPasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password/reset/complete/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("sso/login/", sso.sso_login, name="sso_login"),
    path("sso/callback/", sso.sso_callback, name="sso_callback"),
]

web_patterns = [
    path("settings/", views.settings_profile, name="settings_profile"),
    path("settings/tokens/", views.token_list, name="token_list"),
    path("settings/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<slug:slug>/", views.team_detail, name="team_detail"),
    path("teams/<slug:slug>/members/<str:username>/role/", views.membership_role, name="membership_role"),
    path("teams/<slug:slug>/members/<str:username>/remove/", views.membership_remove, name="membership_remove"),
    path("manage/", views.manage_home, name="manage_home"),
    path("manage/users/", views.manage_users, name="manage_users"),
    path("manage/users/<int:user_id>/active/", views.manage_user_active, name="manage_user_active"),
    path("manage/teams/", views.manage_teams, name="manage_teams"),
    path("manage/teams/<slug:slug>/delete/", views.manage_team_delete, name="manage_team_delete"),
    path("manage/audit/", views.manage_audit, name="manage_audit"),
]
