"""What is wrong with one field of a request, in the caller's language: pydantic names the
kind of error (``missing``, ``int_type``, …) and its limits; the sentence is ours, through
gettext like every text a person reads. A kind not listed here keeps pydantic's English."""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

from bot.i18n import N_, gettext

ONE_MEMBER = "one_member_reference"  # MemberRef's own check

MESSAGES: dict[str, str] = {
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not part of the request."),
    "int_type": N_("Expected a whole number."),
    "int_parsing": N_("Expected a whole number."),
    "int_from_float": N_("Expected a whole number."),
    "string_type": N_("Expected text."),
    "bool_type": N_("Expected `true` or `false`."),
    "bool_parsing": N_("Expected `true` or `false`."),
    "model_type": N_("Expected an object."),
    "model_attributes_type": N_("Expected an object."),
    "dict_type": N_("Expected an object."),
    "list_type": N_("Expected a list."),
    "date_type": N_("Expected a date (YYYY-MM-DD)."),
    "date_parsing": N_("Expected a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": N_("Expected a date (YYYY-MM-DD)."),
    "greater_than": N_("Must be more than {gt}."),
    "greater_than_equal": N_("Must be at least {ge}."),
    "less_than": N_("Must be less than {lt}."),
    "less_than_equal": N_("Must be at most {le}."),
    "string_too_short": N_("Must be at least {min_length} characters long."),
    "string_too_long": N_("Must be at most {max_length} characters long."),
    "string_pattern_mismatch": N_("Contains characters that are not allowed here."),
    "too_short": N_("Must have at least {min_length} items."),
    "too_long": N_("Must have at most {max_length} items."),
    "literal_error": N_("Must be one of: {expected}."),
    "enum": N_("Must be one of: {expected}."),
    "json_invalid": N_("This is not valid JSON."),
    "json_type": N_("This is not valid JSON."),
    ONE_MEMBER: N_("Give exactly one of `phone`, `member_no` and `card`."),
}


def field_message(error: ErrorDetails, locale: str) -> str:
    """The sentence for one of a ``ValidationError``'s errors."""
    text = MESSAGES.get(error["type"])
    if text is None:
        return error["msg"].removeprefix("Value error, ")
    context: dict[str, Any] = dict(error.get("ctx") or {})
    try:
        return gettext(locale, text, **context)
    except (KeyError, IndexError):  # a limit pydantic did not give: the general sentence
        return error["msg"]
