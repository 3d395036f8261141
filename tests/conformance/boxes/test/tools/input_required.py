"""Tools of the 2026-07-28 input-required scenarios (SEP-2322): questions under named keys.

On a 2026-07-28 client each unanswered question ends a round with an InputRequiredResult;
the tool runs again with the answers. On a handshake-era session the same code asks the
client with requests while it waits.
"""

from __future__ import annotations

from mcp_box_server import Elicit, Roots, Sample, ask, client_can, elicit, roots, sample


def input_required_result_elicitation() -> str:
    """Ask the user's name under the key user_name, then greet them."""
    answer = elicit("What is your name?", {"name": str}, key="user_name")
    return f"Hello, {(answer.get('content') or {}).get('name', 'stranger')}!"


def input_required_result_sampling() -> str:
    """Ask the client's model a question under the key capital_question."""
    return sample("What is the capital of France?", max_tokens=100, key="capital_question")


def input_required_result_list_roots() -> str:
    """Ask for the client's roots under the key client_roots."""
    found = roots(key="client_roots")
    return "Client roots: " + ", ".join(root.get("uri", "?") for root in found)


def input_required_result_request_state() -> str:
    """Ask for a confirmation; the answer only counts when the sealed request state checks out."""
    answer = elicit("Please confirm", {"ok": bool}, key="confirm")
    return f"state-ok: confirmed={(answer.get('content') or {}).get('ok')}"


def input_required_result_tampered_state() -> str:
    """Ask for a confirmation; a tampered request state never gets here (error -32602)."""
    answer = elicit("Please confirm", {"ok": bool}, key="confirm")
    return f"state-ok: confirmed={(answer.get('content') or {}).get('ok')}"


def input_required_result_multiple_inputs() -> str:
    """Ask three things in one round: a name, a greeting from the model, the roots."""
    answers = ask(
        {
            "user_name": Elicit("What is your name?", {"name": str}),
            "greeting": Sample("Generate a greeting", max_tokens=50),
            "client_roots": Roots(),
        }
    )
    name = (answers["user_name"].get("content") or {}).get("name")
    return f"name={name}; answers for {', '.join(sorted(answers))}"


def input_required_result_multi_round() -> str:
    """Two rounds: a name (step1), then a colour (step2)."""
    first = elicit("Step 1: What is your name?", {"name": str}, key="step1")
    second = elicit("Step 2: What is your favorite color?", {"color": str}, key="step2")
    name = (first.get("content") or {}).get("name")
    return f"{name} likes {(second.get('content') or {}).get('color')}"


def input_required_result_capabilities() -> str:
    """Ask only what the client declared it can answer (the model, the user, the roots)."""
    offered = {
        "greeting": ("sample", Sample("Generate a greeting", max_tokens=50)),
        "user_name": ("elicit", Elicit("What is your name?", {"name": str})),
        "client_roots": ("roots", Roots()),
    }
    questions = {key: question for key, (kind, question) in offered.items() if client_can(kind)}
    answers = ask(questions) if questions else {}
    return f"asked {', '.join(sorted(answers)) or 'nothing'}"


def prompt_with_context() -> str:
    """Write the prompt `test_input_required_result_prompt`: ask the user for its context first."""
    answer = elicit("What context should the prompt use?", {"context": str}, key="user_context")
    return f"Answer with this context in mind: {(answer.get('content') or {}).get('context')}"
