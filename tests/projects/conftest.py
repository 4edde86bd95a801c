import pytest

from projects.services import project_create
from tests.costs.conftest import prices, small  # noqa: F401  (the costs tests' sizes and prices)


def make_project(owner, team, name, **fields):
    return project_create(actor=owner, team=team, name=name, **fields)


@pytest.fixture
def churn(alice, team):
    return make_project(alice, team, "Churn")


@pytest.fixture
def forecast(alice, team):
    return make_project(alice, team, "Forecast")
