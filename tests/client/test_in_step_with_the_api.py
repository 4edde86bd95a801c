"""The client keeps up with the API: every operation of /api/schema/ is called by a client method or is
listed below as left out, with the reason; every path the client calls exists; every typed object has
exactly the fields of the schema's object. A new or changed endpoint, or a new or renamed field, fails
here until the client (or this list, after review) follows."""

import ast
import dataclasses
import inspect
import json

import pytest
from rest_framework.test import APIClient

import dsw_client.client
from dsw_client import models

# Operations scripts do not need from this client, and why. Review before adding to it.
NOT_IN_THE_CLIENT = {
    ("GET", "/api/v1/users/"): "platform admins manage accounts in Admin → Users (invitations, deactivation)",
    ("POST", "/api/v1/users/"): "platform admins manage accounts in Admin → Users",
    ("GET", "/api/v1/users/{user_id}/"): "platform admins manage accounts in Admin → Users",
    ("PATCH", "/api/v1/users/{user_id}/"): "platform admins deactivate accounts in Admin → Users",
    ("GET", "/api/v1/audit/"): "platform admins read the audit log in Admin → Audit log",
    ("POST", "/api/v1/images/sync/"): "catalog maintenance by platform admins; it also runs on a schedule and on pushes",
    ("POST", "/api/v1/images/local/"): "platform admins add host Pythons once, in Images",
    ("POST", "/api/v1/images/reports/"): "CI uploads scan reports with a robot secret (docs/ci.md), not a person's token",
    ("POST", "/api/v1/images/sboms/"): "CI uploads SBOMs with a robot secret (docs/ci.md), not a person's token",
    ("GET", "/api/v1/images/policy/"): "scan-gate administration, in Images → Scan policy",
    ("PUT", "/api/v1/images/policy/"): "scan-gate administration, in Images → Scan policy",
    ("GET", "/api/v1/images/policy/teams/{slug}/"): "scan-gate administration, in Images → Scan policy",
    ("PUT", "/api/v1/images/policy/teams/{slug}/"): "scan-gate administration, in Images → Scan policy",
    ("GET", "/api/v1/images/exceptions/"): "scan-gate administration, in Images → Exceptions",
    ("POST", "/api/v1/images/exceptions/"): "scan-gate administration, in Images → Exceptions",
    ("DELETE", "/api/v1/images/exceptions/{id}/"): "scan-gate administration, in Images → Exceptions",
    ("GET", "/api/v1/images/robots/"): "robot accounts are made once per CI pipeline by platform admins, in Images → Robots",
    ("POST", "/api/v1/images/robots/"): "robot accounts are made once per CI pipeline by platform admins, in Images → Robots",
    ("DELETE", "/api/v1/images/robots/{id}/"): "robot accounts are revoked by platform admins, in Images → Robots",
}

# Each typed object of the client and the schema component it mirrors.
MODELS = {
    models.Me: "MeOutput", models.TeamRole: "TeamRefOutput", models.Team: "TeamOutput",
    models.Membership: "MembershipOutput", models.Token: "TokenOutput", models.CreatedToken: "TokenCreatedOutput",
    models.Profile: "ProfileOutput", models.BudgetHours: "BudgetHoursOutput", models.Workspace: "WorkspaceOutput",
    models.CullWarning: "CullWarningOutput", models.BudgetStop: "BudgetStopOutput",
    models.WorkspaceEvent: "WorkspaceEventOutput", models.Image: "ImageOutput", models.LaunchChoices: "LaunchChoices",
    models.PriceSheet: "PriceSheetOutput", models.Budget: "BudgetOutput", models.BudgetStatus: "BudgetStatusOutput",
    models.BudgetGrant: "BudgetGrantOutput", models.CostReport: "CostReportOutput", models.CostGroup: "CostGroupOutput",
    models.Bucket: "BucketOutput", models.BucketObject: "ObjectOutput", models.BucketListing: "ListingOutput",
    models.PresignedLink: "LinkOutput", models.S3Credentials: "CredentialsOutput", models.S3Secret: "CredentialsRevealOutput",
    models.Project: "ProjectOutput", models.StageChange: "StageChangeOutput", models.ProjectTemplate: "ProjectTemplateOutput",
    models.ProjectBudget: "ProjectBudgetOutput",
}

_VERBS = {"get": "GET", "post": "POST", "put": "PUT", "patch": "PATCH", "delete": "DELETE", "paginate": "GET"}


def client_operations():
    """{(METHOD, path): ["Class.method", …]} for every API path the client's methods call (read from its source)."""
    tree = ast.parse(inspect.getsource(dsw_client.client))
    found = {}
    for cls in [node for node in tree.body if isinstance(node, ast.ClassDef)]:
        for function in [node for node in cls.body if isinstance(node, ast.FunctionDef)]:
            for call in ast.walk(function):
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in _VERBS
                        and call.args and isinstance(call.args[0], ast.Constant)
                        and str(call.args[0].value).startswith("/api/")):
                    found.setdefault((_VERBS[call.func.attr], call.args[0].value), []).append(f"{cls.name}.{function.name}")
    return found


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def schema_operations(schema):
    return {(method.upper(), path) for path, item in schema["paths"].items() for method in item
            if method in ("get", "post", "put", "patch", "delete")}


def test_every_api_operation_is_in_the_client_or_left_out_with_a_reason(schema):
    in_schema = schema_operations(schema)
    called = client_operations()
    public = {operation for operation, methods in called.items() if any(not name.split(".")[1].startswith("_") for name in methods)}
    missing = sorted(in_schema - public - set(NOT_IN_THE_CLIENT))
    assert not missing, f"API operations the client does not call (add a method, or a reviewed reason): {missing}"
    unknown = {operation: methods for operation, methods in called.items() if operation not in in_schema}
    assert not unknown, f"The client calls operations the API does not have (changed or removed?): {unknown}"
    stale = sorted(set(NOT_IN_THE_CLIENT) - in_schema)
    assert not stale, f"Left out, but no longer in the API: {stale}"
    both = sorted(set(NOT_IN_THE_CLIENT) & set(called))
    assert not both, f"Listed as left out, but the client calls them: {both}"
    assert len(called) >= 45  # the reading above found the client's calls: it can fail


def test_every_typed_object_has_the_fields_of_the_schemas_object(schema):
    components = schema["components"]["schemas"]
    for model, component in MODELS.items():
        ours = {item.name for item in dataclasses.fields(model)} - {"raw"}
        theirs = set(components[component]["properties"])
        assert ours == theirs, (f"{model.__name__} vs {component}: the API has {sorted(theirs - ours)} more, "
                                f"the client {sorted(ours - theirs)} more")
    typed = {cls for _, cls in inspect.getmembers(models, inspect.isclass)
             if dataclasses.is_dataclass(cls) and cls.__module__ == models.__name__}
    assert typed == set(MODELS), f"typed objects without a schema object to compare with: {typed - set(MODELS)}"
