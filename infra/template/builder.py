"""The template assembled from its parts: each part builds its resources, the builder lists them in
the template's order and adds the functions' logging and the alarms over all of them.

Example::

    template = build_template()
    template["Resources"]["CreatorsGetFunction"]["Properties"]["Handler"]  # "creators.get"
"""

from __future__ import annotations

from typing import Any

from infra.template.auth import auth_api, authorizer
from infra.template.backups import backup_resources
from infra.template.base import (
    PUBLIC_URL_PARAMETER,
    core_resources,
    http_api_access_logs,
    public_url_parameter,
)
from infra.template.dashboard import dashboard_function
from infra.template.edge import edge_resources
from infra.template.functions import function_globals, function_resources
from infra.template.observability import alarm_resources, with_alarms, with_log_groups
from infra.template.outputs import stack_outputs
from infra.template.parameters import CONDITIONS, stack_parameters
from infra.template.saga import saga_resources
from infra.template.scheduler import load_crons, scheduler_resources
from infra.template.search import search_resources
from infra.template.sync import sync_resources
from infra.template.vectors import vector_resources
from ontology.runtime.registry import RegisteredFunction, load_all

DESCRIPTION = (
    "ONE platform: creators' backend (entities, connections, events, knowledge) on Lambda and DynamoDB."
)


def build_resources(functions: dict[str, RegisteredFunction]) -> dict[str, Any]:
    """Every part's resources, then every function's log group and checkov's reasons, then the
    alarms on what they give up on."""
    crons = load_crons()
    resources = {
        **core_resources(),
        "AuthorizerFunction": authorizer(),
        **function_resources(functions, crons),
        **scheduler_resources(),
        **sync_resources(functions),
        **edge_resources(),
        **vector_resources(),
        **search_resources(),
        **alarm_resources(),
        **saga_resources(),
        **backup_resources(),
        "AuthApiFunction": auth_api(),
        "DashboardFunction": dashboard_function(functions, crons),
        PUBLIC_URL_PARAMETER: public_url_parameter(),
        "HttpApiAccessLogs": http_api_access_logs(),
    }
    return with_alarms(with_log_groups(resources))


def build_template() -> dict[str, Any]:
    """The SAM template of the registered functions (``render`` writes it as YAML)."""
    resources = build_resources(load_all())
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": DESCRIPTION,
        "Parameters": stack_parameters(),
        "Conditions": CONDITIONS,
        "Globals": function_globals(),
        "Resources": resources,
        "Outputs": stack_outputs(),
    }
