"""The command line's request options come from the spec: one per request parameter."""

from __future__ import annotations

from typing import Any

import click
import pytest
from click.testing import CliRunner

from nebula_images._cli_options import RESERVED_NAMES, option_help
from nebula_images._models_table import GENERIC, MODELS
from nebula_images.cli import cli

from conftest import resolve


def spec_parameters(spec: dict[str, Any]) -> set[str]:
    """Every property of the request ``oneOf``'s schemas, read from openapi.yaml itself."""
    body = spec["paths"]["/images/generation"]["post"]["requestBody"]
    schema = resolve(spec, body["content"]["application/json"]["schema"])
    names: set[str] = set()
    for branch in schema["oneOf"]:
        names |= set(resolve(spec, branch)["properties"])
    return names - {"model_name", "prompt"}


def options_of(command: str) -> dict[str, click.Parameter]:
    found = cli.commands[command]
    return {param.name: param for param in found.params if param.name}


@pytest.mark.parametrize("command", ["generate", "batch"])
def test_every_spec_parameter_is_an_option(spec: dict[str, Any], command: str) -> None:
    options = options_of(command)
    expected = spec_parameters(spec)
    assert expected <= set(options), expected - set(options)
    for name in expected:
        assert options[name].opts == ["--" + name.replace("_", "-")]


@pytest.mark.parametrize("command", ["generate", "batch"])
def test_command_options_are_reserved(spec: dict[str, Any], command: str) -> None:
    # A spec parameter named like a command's own option would collide with it: every
    # option that is not a spec parameter must be in RESERVED_NAMES, which skips it.
    own = set(options_of(command)) - spec_parameters(spec)
    assert own <= RESERVED_NAMES, own - RESERVED_NAMES


def test_option_types_and_help_follow_the_rules() -> None:
    options = options_of("generate")
    assert options["width"].type is click.INT and options["guidance_scale"].type is click.FLOAT
    assert isinstance(options["image"].type, click.Path)
    width_help = getattr(options["width"], "help", "")
    assert "64 to 2048, a multiple of 8" in width_help
    seed_help = getattr(options["seed"], "help", "")
    assert seed_help.endswith("Models: flux-schnell."), seed_help
    # Every listed model takes guidance_scale: no model list.
    assert "Models" not in getattr(options["guidance_scale"], "help", "")


def test_help_of_a_parameter_taken_by_some_models() -> None:
    rule = GENERIC.fields["negative_prompt"]
    takers = [rules for rules in MODELS.values() if "negative_prompt" in rules.fields]
    assert option_help(rule, takers) == "What to keep out of the image. Models: sdxl."


def test_a_value_out_of_bounds_is_refused_before_any_call() -> None:
    # No server at this address: the refusal must come from the spec's rule.
    nowhere = ["--api-key", "ak_test_0000", "--base-url", "http://127.0.0.1:9/api/v1"]
    result = CliRunner().invoke(cli, [*nowhere, "generate", "a fox", "--num-steps", "0", "-o", "-"])
    assert result.exit_code == 2, result.output
    assert "--num-steps" in result.output and "1 to 100" in result.output, result.output
