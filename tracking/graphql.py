"""MLflow's UI reads experiments and runs through GraphQL as well as REST: each top-level field of a query is
checked here as the REST route it mirrors. Only the UI's read fields are offered; mutations, introspection and
top-level fragments are refused. Pure: (query, variables) → the resources to check, or a reason to refuse."""

from dataclasses import dataclass

from graphql import GraphQLError, parse
from graphql.language import FieldNode, OperationDefinitionNode, OperationType, VariableNode
from graphql.utilities import value_from_ast_untyped

# field → (what the input names, the keys that name it)
_FIELDS = {
    "mlflowGetExperiment": ("experiment", ("experimentId",)),
    "mlflowGetRun": ("run", ("runId", "runUuid")),
    "mlflowListArtifacts": ("run", ("runId", "runUuid")),
    "mlflowGetMetricHistoryBulkInterval": ("runs", ("runIds",)),
    "mlflowSearchRuns": ("experiments", ("experimentIds",)),
    "mlflowSearchDatasets": ("experiments", ("experimentIds",)),
}


@dataclass(frozen=True)
class Needs:
    experiments: tuple = ()
    runs: tuple = ()


class Refused(ValueError):
    pass


def graphql_needs(body):
    """What a GraphQL request body reads: the experiment and run ids every one of its fields names."""
    query, variables = body.get("query"), body.get("variables") or {}
    if not isinstance(query, str) or not isinstance(variables, dict):
        raise Refused("A GraphQL request needs a query (a string) and variables (an object).")
    try:
        document = parse(query)
    except GraphQLError as exc:
        raise Refused(f"The GraphQL query does not parse: {exc.message}") from None
    experiments, runs = [], []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if definition.operation != OperationType.QUERY:
            raise Refused("Only GraphQL queries are offered.")
        for selection in definition.selection_set.selections:
            if not isinstance(selection, FieldNode):
                raise Refused("Top-level fragments are not offered.")
            name = selection.name.value
            if name == "__typename":
                continue
            if name not in _FIELDS:
                raise Refused(f"The GraphQL field {name} is not offered by the platform.")
            kind, keys = _FIELDS[name]
            given = {argument.name.value: argument.value for argument in selection.arguments}
            node = given.get("input")
            value = (variables.get(node.name.value) if isinstance(node, VariableNode) else
                     value_from_ast_untyped(node, variables) if node is not None else None)
            if not isinstance(value, dict):
                raise Refused(f"{name} needs an input.")
            found = next((value[key] for key in keys if value.get(key)), None)
            if found is None:
                raise Refused(f"{name} needs {' or '.join(keys)}.")
            if kind in ("experiment", "run"):
                found = [found]
            if not isinstance(found, list) or not all(isinstance(item, str) for item in found):
                raise Refused(f"{name}: {keys[0]} must name ids.")
            (experiments if kind.startswith("experiment") else runs).extend(found)
    return Needs(tuple(experiments), tuple(runs))
