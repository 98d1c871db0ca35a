"""The small-number rule on its own: what is withheld, and what is withheld because it would
give a withheld number away."""

from app.analytics.suppression import withheld


def test_counts_under_five_are_withheld_and_five_is_shown() -> None:
    counts = {"a": 4, "b": 5, "c": 0, "d": 12}
    assert withheld(counts, []) == {"a", "c"}


def test_a_lone_withheld_cell_of_a_line_takes_the_next_smallest_with_it() -> None:
    counts = {"a": 6, "b": 5, "c": 4, "d": 7}
    assert withheld(counts, [["a", "b", "c", "d"]]) == {"b", "c"}


def test_two_withheld_cells_hide_each_other() -> None:
    counts = {"a": 6, "b": 3, "c": 4, "d": 7}
    assert withheld(counts, [["a", "b", "c", "d"]]) == {"b", "c"}


def test_a_cell_withheld_for_one_line_can_force_another_in_a_crossing_line() -> None:
    # rows r1, r2 and columns x, y: r1x is 2; hiding r1y for row r1 leaves column y with one
    counts = {("r1", "x"): 2, ("r1", "y"): 9, ("r2", "x"): 8, ("r2", "y"): 20}
    rows = [[("r1", "x"), ("r1", "y")], [("r2", "x"), ("r2", "y")]]
    columns = [[("r1", "x"), ("r2", "x")], [("r1", "y"), ("r2", "y")]]
    assert withheld(counts, rows + columns) == set(counts)


def test_a_line_with_no_other_cell_withholds_nothing_more() -> None:
    assert withheld({"a": 3}, [["a"]]) == {"a"}
