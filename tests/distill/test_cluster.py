from mcp_box_server.distill.cluster import DEFAULT_THRESHOLD, cluster, describe, tokens
from tests.distill import family


def test_tokens_split_identifiers_and_fold_plurals():
    assert tokens("milesToKm convert_lengths of the cities") == ["mile", "km", "convert", "length", "city"]


def test_describe_uses_name_summary_and_parameters_not_args_text():
    text = describe(family.general_tool("percent_of"))
    assert text.startswith("percent_of Percentage of an amount")
    assert "percent total" in text and "Args" not in text


def test_family_groups_by_function():
    functions = [
        "miles_to_km", "km_to_miles", "feet_to_metres", "inches_to_cm", "celsius_to_fahrenheit",
        "percent_of", "percent_share", "percent_change", "simple_interest", "compound_amount",
    ]  # fmt: skip
    groups = cluster([describe(family.general_tool(f)) for f in functions], DEFAULT_THRESHOLD)
    named = [[functions[i] for i in g] for g in groups]
    assert named == [
        ["miles_to_km", "km_to_miles", "feet_to_metres", "inches_to_cm"],
        ["celsius_to_fahrenheit"],
        ["percent_of", "percent_share", "percent_change"],
        ["simple_interest", "compound_amount"],
    ]


def test_threshold_bounds():
    docs = ["add two numbers", "add two integers", "reverse a string"]
    assert cluster(docs, 1.01) == [[0], [1], [2]]
    assert cluster(docs, 0.0) == [[0, 1, 2]]
    assert cluster(docs, 0.3) == [[0, 1], [2]]
    assert cluster([]) == []
