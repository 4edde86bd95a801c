"""The lifecycle a data-science project goes through, written once: the stages in order, with what
each one should leave behind. The API, the pages, the timeline and the template's README read it.

Pure: no Django, so the template renderer and tests use it as plain data.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    value: str
    label: str
    goal: str
    deliverables: tuple[str, ...]


STAGES = (
    Stage("define", "Define", "Agree on the question, who asks it and what a useful answer would change.",
          ("An Ask issue with the business question and how success is measured",
           "The people involved and the decision the result feeds")),
    Stage("research", "Research", "Learn what is known: earlier work, literature, available data.",
          ("A short write-up of related work and candidate approaches", "A list of data sources with their owners")),
    Stage("data", "Data & EDA", "Get the data in, understand it, check its quality.",
          ("Data issues for each source acquired or created", "Explore issues with the findings of the analysis",
           "Raw data under data/raw, the extract stage of the pipeline")),
    Stage("poc", "Proof of concept", "Show that a model can answer the question well enough.",
          ("Experiment issues, one per idea tried, with their results", "A baseline and the metric to beat",
           "The prepare, train and evaluate stages of the pipeline")),
    Stage("poc_service", "PoC service", "Put the model where people can try it.",
          ("A Model issue describing the model served", "Code under code/deployment", "Tests that run in CI")),
    Stage("evaluation", "Evaluation", "Measure the model against the success criteria with its users.",
          ("An evaluation report in docs/", "The go / no-go decision, written down")),
    Stage("handoff", "Hand-off", "Hand the result to those who run it.",
          ("The solution-architecture page up to date", "A runbook and who owns the service",
           "The project archived on the platform")),
)
STAGE_CHOICES = [(stage.value, stage.label) for stage in STAGES]
STAGE_ORDER = {stage.value: index for index, stage in enumerate(STAGES)}
STAGE_BY_VALUE = {stage.value: stage for stage in STAGES}
