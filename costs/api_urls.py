from django.urls import path

from costs import api

urlpatterns = [
    path("prices/", api.PriceSheetListApi.as_view(), name="api_price_list"),
    path("prices/current/", api.PriceSheetCurrentApi.as_view(), name="api_price_current"),
    path("teams/<int:team_id>/budget/", api.BudgetApi.as_view(), name="api_team_budget"),
    path("teams/<int:team_id>/budget/grants/", api.BudgetGrantListApi.as_view(), name="api_team_budget_grants"),
    path("teams/<int:team_id>/costs/", api.CostReportApi.as_view(), name="api_team_costs"),
    path("teams/<int:team_id>/costs/export/", api.CostReportCsvApi.as_view(), name="api_team_costs_csv"),
    path("projects/<int:pk>/costs/", api.ProjectCostReportApi.as_view(), name="api_project_costs"),
    path("projects/<int:pk>/costs/export/", api.ProjectCostReportCsvApi.as_view(), name="api_project_costs_csv"),
    path("projects/<int:pk>/budget/", api.ProjectBudgetApi.as_view(), name="api_project_budget"),
]
