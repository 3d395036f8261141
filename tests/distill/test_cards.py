"""Tool cards: one line a small model can read to pick and call a tool."""

from mcp_box_server.distill.cards import arg_docs, card
from mcp_box_server.distill.pipeline import task_defaults

SOURCE = '''\
def loan_payment(principal: float, annual_rate_pct: float, months: int, decimals: int = 2) -> float:
    """Monthly payment of an amortised loan.

    Args:
        principal (float): amount borrowed, in currency units.
        annual_rate_pct: nominal yearly interest rate in percent
            (e.g. 6 for 6 %).
        months: number of monthly payments.
        decimals: decimal places of the result.

    Returns:
        The payment per month.
    """
    return 0.0
'''


def test_args_are_read_with_types_and_continuations():
    assert arg_docs(SOURCE.split('"""')[1]) == {
        "principal": "amount borrowed, in currency units.",
        "annual_rate_pct": "nominal yearly interest rate in percent (e.g. 6 for 6 %).",
        "months": "number of monthly payments.",
        "decimals": "decimal places of the result.",
    }


def test_a_card_is_one_line_with_signature_summary_and_parameters():
    text = card("money_loan_payment", SOURCE, "loan_payment")
    assert "\n" not in text
    assert text == (
        "`money_loan_payment(principal: float, annual_rate_pct: float, months: int, decimals: int = 2) "
        "-> float`: "
        "Monthly payment of an amortised loan. `principal`: amount borrowed, in currency units; "
        "`annual_rate_pct`: nominal yearly interest rate in percent (e.g. 6 for 6 %); "
        "`months`: number of monthly payments; `decimals`: decimal places of the result."
    )


def test_defaults_from_the_task_are_found_and_conventions_are_not():
    question = "What is the monthly payment on a 12,000 loan at 6 percent over 36 months?"
    assert task_defaults(SOURCE, question) == {}
    baked = SOURCE.replace("rate_pct: float, months: int,", "rate_pct: float = 6, months: int = 36,")
    assert task_defaults(baked, question) == {"annual_rate_pct": 6, "months": 36}
