"""template.yaml is generated from the declarations, agrees with the PynamoDB model, and lints clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra import docs, template
from ontology.models import GSI_COUNT, Item
from ontology.schema import TABLES
from tests.conftest import ROOT


def test_committed_template_is_what_the_declarations_generate() -> None:
    assert (ROOT / "template.yaml").read_text() == template.render(), "run `make template` and commit"


def test_template_table_agrees_with_the_pynamodb_model() -> None:
    props = template.load_template()["Resources"]["Table"]["Properties"]
    schema = Item._get_schema()
    assert props["KeySchema"] == [
        {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in schema["key_schema"]
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == {
        (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
    }
    in_template = {g["IndexName"]: g for g in props["GlobalSecondaryIndexes"]}
    in_model = {g["index_name"]: g for g in schema["global_secondary_indexes"]}
    assert set(in_template) == set(in_model)
    assert len(in_model) == GSI_COUNT <= 10
    for name, g in in_model.items():
        assert in_template[name]["KeySchema"] == [
            {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in g["key_schema"]
        ]
        assert in_template[name]["Projection"] == {"ProjectionType": "ALL"}
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_every_declared_index_has_its_gsi() -> None:
    gsis = {
        g["IndexName"]
        for g in template.load_template()["Resources"]["Table"]["Properties"]["GlobalSecondaryIndexes"]
    }
    for t in TABLES.values():
        for idx in t.indexes:
            assert idx.gsi_name in gsis, f"{t.name}.{idx.name}"
            assert hasattr(Item, idx.pk_attr) and hasattr(Item, idx.sk_attr)


def test_readme_tables_are_current() -> None:
    assert (ROOT / "README.md").read_text() == docs.render((ROOT / "README.md").read_text()), (
        "run `make docs`"
    )


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
