from mcp_box_server.box.docstrings import parse_docstring


def test_google_style_params_leave_the_description():
    doc = parse_docstring(
        """Solve it.

        Use when asked.

        Args:
            numbers: the numbers,
                one to thirteen.
            target (int): the goal.

        Returns:
            A dict.
        """
    )
    assert doc.params == {"numbers": "the numbers, one to thirteen.", "target": "the goal."}
    assert doc.description == "Solve it.\n\nUse when asked.\n\nReturns:\n    A dict."


def test_numpy_style():
    doc = parse_docstring(
        """Do it.

        Parameters
        ----------
        x : int
            The x value.
        y : float
            The y.
        """
    )
    assert doc.params == {"x": "The x value.", "y": "The y."}
    assert doc.description == "Do it."


def test_sphinx_style():
    doc = parse_docstring(":param a: first\n:param int b: second\n   continued\n:returns: x")
    assert doc.params == {"a": "first", "b": "second continued"}
    assert doc.description == ""


def test_empty_docstring():
    assert parse_docstring(None).description == ""
