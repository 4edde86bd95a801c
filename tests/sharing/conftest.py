from tests.costs.conftest import small  # noqa: F401  (the costs tests' size)
