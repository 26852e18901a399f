"""Forms of the environment pages: the definition form generated from a blueprint, destroy confirmation."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError

from portal.environments.choices import REGIONS, Tier
from portal.environments.models import (
    MAX_LIFETIME_HOURS,
    Blueprint,
    check_definition,
    default_lifetime_hours,
)
from portal.text_input import unencodable_in

VARIABLE_PREFIX = "var_"
NETWORK_HELP = (
    "Leave empty to get a free block: Launchpad takes the first one of the region's pool that no other "
    "environment uses."
)
NETWORK_KEPT_HELP = "Leave empty to keep the current block: another one replaces the whole network."
# Types edited as JSON: every collection and structural Terraform type, and "any".
_SCALAR_TYPES = {"string", "number", "bool"}


def variable_field_name(variable: str) -> str:
    """The form field of a blueprint variable (prefixed: a variable may not shadow name, tier or region)."""
    return VARIABLE_PREFIX + variable


class NumberField(forms.FloatField):
    """A Terraform number: whole numbers stay integers (Terraform and the tfvars file read 2, not 2.0)."""

    widget = forms.NumberInput(attrs={"step": "any"})

    def to_python(self, value):
        number = super().to_python(value)
        if number is not None and number.is_integer():
            return int(number)
        return number


class VariableJSONField(forms.JSONField):
    """A JSON variable: JSON nested deeper than Python parses is a form error like any invalid JSON."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except RecursionError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None

    def bound_data(self, data, initial):  # the form shown again keeps what was typed
        try:
            value = super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)
        # "\ud800" parses into a string the page could not be written with: show the text as typed (validation
        # refuses the value, portal/environments/models.py).
        if not isinstance(value, forms.fields.InvalidJSONInput) and unencodable_in(value):
            return forms.fields.InvalidJSONInput(data)
        return value


def variable_field(variable: dict) -> forms.Field:
    """The field for one blueprint variable: its description is the help text, its default the initial value."""
    kind = re.sub(r"\s+", "", variable["type"])
    common = {
        "label": variable["name"],
        "help_text": variable["description"],
        "initial": variable["default"],
        "required": variable["required"],
    }
    if kind == "string":
        field = forms.CharField(**common)
    elif kind == "number":
        field = NumberField(**common, error_messages={"invalid": "Enter a number, such as 2."})
    elif kind == "bool":
        # An unchecked box is false, a real value: the box itself is never "missing".
        field = forms.BooleanField(**{**common, "required": False})
    else:
        field = VariableJSONField(
            **common,
            widget=forms.Textarea(attrs={"rows": 3, "class": "code", "spellcheck": "false"}),
            error_messages={"invalid": f"Write valid JSON for a {kind} value, for example {_json_example(kind)}."},
        )
    field.terraform_type = kind
    return field


def _json_example(kind: str) -> str:
    if kind.startswith("map") or kind.startswith("object"):
        return '{"team": "audio"}'
    if kind.startswith(("list", "set", "tuple")):
        return '["a", "b"]'
    return '"text", 2, true, ["a"] or {"key": "value"}'


class BlueprintVariablesForm(forms.Form):
    """The fields generated from a blueprint's variables (those a user may set), with ``values`` (default: the
    blueprint's defaults) filled in, and validate_environment's messages put next to the field each is about."""

    # Definition fields (not variables) whose messages go under their own field.
    definition_keys: tuple[str, ...] = ()

    def __init__(self, blueprint: Blueprint, *args, values: dict | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.blueprint = blueprint
        self.variables = blueprint.user_variables
        for variable in self.variables:
            field = variable_field(variable)
            if values is not None:
                field.initial = values.get(variable["name"], variable["default"])
            self.fields[variable_field_name(variable["name"])] = field

    def variable_fields(self) -> list[forms.BoundField]:
        return [self[variable_field_name(variable["name"])] for variable in self.variables]

    def chosen_variables(self) -> dict:
        """The values that differ from the blueprint's defaults (required ones always): what the API would get."""
        chosen = {}
        for variable in self.variables:
            field = variable_field_name(variable["name"])
            if field not in self.cleaned_data:
                continue
            value = self.cleaned_data[field]
            if value is None or value == "":
                continue  # left empty: the blueprint's default applies
            # A block is always given as chosen: without one, Launchpad picks a free block (or keeps the current
            # one), not the blueprint's default.
            if variable["required"] or variable["name"] == "vpc_cidr" or value != variable["default"]:
                chosen[variable["name"]] = value
        return chosen

    def add_definition_errors(self, error: ValidationError) -> None:
        """Put each of validate_environment's messages next to the field it is about."""
        for key, messages in error.message_dict.items():
            for message in messages:
                field = self._field_for(key, message)
                if field is None or field not in self.errors:
                    self.add_error(field, message)

    def _field_for(self, key: str, message: str) -> str | None:
        if key in self.definition_keys:
            return key
        if variable_field_name(key) in self.fields:
            return variable_field_name(key)
        if key == "variables":
            if message.startswith("Missing required variables:"):
                return None
            # check_value's messages start with the variable's name ("tags.team must be a string.").
            for variable in self.variables:
                if re.match(rf"{re.escape(variable['name'])}(?:[ .:\[]|$)", message):
                    return variable_field_name(variable["name"])
        return None


class EnvironmentForm(BlueprintVariablesForm):
    """A new environment of one blueprint; checked by validate_environment, the same rules as the API."""

    definition_keys = ("name", "tier", "region", "lifetime_hours")

    name = forms.CharField(
        help_text="Names every AWS resource of the environment, such as feature-playlists.",
    )
    tier = forms.ChoiceField(choices=Tier.choices, initial=Tier.DEV)
    region = forms.ChoiceField(choices=[(region, region) for region in REGIONS], initial="eu-west-1")
    lifetime_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_LIFETIME_HOURS,
        label="Lifetime (hours)",
        help_text="Launchpad destroys the environment after this long; you are warned before and can extend it. "
        "Empty: it lives until someone destroys it. Production environments never expire.",
    )
    apply = forms.BooleanField(
        required=False,
        initial=True,
        label="Apply right away",
        help_text="Queue a plan and apply now. Unchecked: the environment is only defined.",
    )

    def __init__(self, blueprint: Blueprint, *args, **kwargs) -> None:
        super().__init__(blueprint, *args, **kwargs)
        self.fields["lifetime_hours"].initial = default_lifetime_hours(blueprint, Tier.DEV)
        network = self.fields.get(variable_field_name("vpc_cidr"))
        if network is not None:  # Launchpad takes a free block from the region's pool (validate_environment)
            network.initial, network.required = None, False
            network.help_text = f"{network.help_text} {NETWORK_HELP}".strip()

    def definition_fields(self) -> list[forms.BoundField]:
        return [self["name"], self["tier"], self["region"], self["lifetime_hours"]]

    def clean(self):
        cleaned = super().clean()
        if not {"name", "tier", "region"} <= cleaned.keys():
            return cleaned
        try:
            # Checked once per request, rules included; the view stores it (define_environment).
            self.definition = check_definition(
                name=cleaned["name"],
                blueprint=self.blueprint,
                tier=cleaned["tier"],
                region=cleaned["region"],
                variables=self.chosen_variables(),
                lifetime_hours=cleaned.get("lifetime_hours"),
            )
        except ValidationError as error:
            self.add_definition_errors(error)
        return cleaned


class SettingsForm(BlueprintVariablesForm):
    """An environment's settings, filled in with its current values (secrets and what Launchpad sets are not
    among them); the view checks them with the rules of a new definition (Environment.change_settings)."""

    apply = forms.BooleanField(
        required=False,
        initial=True,
        label="Apply the change",
        help_text="Plan the change and apply it (a plan that needs an approver waits for one). Unchecked: only plan it.",
    )

    def __init__(self, environment, *args, **kwargs) -> None:
        super().__init__(environment.blueprint, *args, values=environment.variables, **kwargs)
        self.environment = environment
        network = self.fields.get(variable_field_name("vpc_cidr"))
        if network is not None:  # an environment given no block keeps its own (validate_environment)
            network.initial = environment.vpc_cidr
            network.help_text = f"{network.help_text} {NETWORK_KEPT_HELP}".strip()


class DestroyConfirmationForm(forms.Form):
    """Destroying asks the user to type the environment's name: a slip of the mouse destroys nothing."""

    confirm_name = forms.CharField(label="Type the environment's name to confirm")

    def __init__(self, environment, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.environment = environment

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.environment.name:
            raise ValidationError(
                f"That is not the name of this environment: type {self.environment.name} exactly to destroy it."
            )
        return typed


class ExtendForm(forms.Form):
    """The environment page's extend form: more hours before Launchpad destroys the environment."""

    hours = forms.IntegerField(min_value=1, max_value=MAX_LIFETIME_HOURS, initial=24, label="Extend by (hours)")
