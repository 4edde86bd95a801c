from django.urls import path

from costs import views

urlpatterns = [
    path("", views.costs_home, name="costs"),
    path("prices/", views.price_list, name="costs_prices"),
    path("teams/<int:team_id>/", views.team_costs, name="costs_team"),
    path("teams/<int:team_id>/budget/", views.budget_edit, name="costs_budget_edit"),
    path("teams/<int:team_id>/grants/", views.grant_create, name="costs_grant_create"),
    path("projects/<int:pk>/", views.project_costs, name="costs_project"),
    path("projects/<int:pk>/budget/", views.project_budget_edit, name="costs_project_budget"),
]
