from django.urls import path

from portal.accounts import api as accounts_api
from portal.audit import api as audit_api

urlpatterns = [
    path("auth/token/", accounts_api.TokenObtainApi.as_view(), name="api_token_obtain"),
    path("tokens/", accounts_api.TokenListApi.as_view(), name="api_token_list"),
    path("tokens/<int:pk>/", accounts_api.TokenDetailApi.as_view(), name="api_token_detail"),
    path("users/", accounts_api.UserListApi.as_view(), name="api_user_list"),
    path("users/me/", accounts_api.MeApi.as_view(), name="api_me"),
    path("users/<int:user_id>/", accounts_api.UserDetailApi.as_view(), name="api_user_detail"),
    path("teams/", accounts_api.TeamListApi.as_view(), name="api_team_list"),
    path("teams/<int:team_id>/", accounts_api.TeamDetailApi.as_view(), name="api_team_detail"),
    path("teams/<int:team_id>/members/", accounts_api.MembershipListApi.as_view(), name="api_membership_list"),
    path("teams/<int:team_id>/members/<str:username>/", accounts_api.MembershipDetailApi.as_view(), name="api_membership_detail"),
    path("audit/", audit_api.AuditEventListApi.as_view(), name="api_audit_list"),
]
