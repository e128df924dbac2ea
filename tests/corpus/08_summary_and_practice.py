"""Realistic submissions for the practice quiz, with the points each question must give."""
ASSIGNMENT = "08_summary_and_practice"
NOTEBOOK = "08_summary_and_practice"

RIGHT = {"q01": "A", "q02": "A", "q03": "B", "q04": "C", "q05": "C",
         "q06": "C", "q07": "D", "q08": "A", "q09": "B", "q10": "D"}


def answers(letters):
    """Answer cells returning the given values, written as a student would."""
    return {f"{q}_answer": f"def answer_{q}():\n    return {value!r}\n" for q, value in letters.items()}


def points(correct):
    return {f"{q}_test": (1 if q in correct else 0) for q in RIGHT}


CASES = {
    "believes_the_seed": {
        "why": "answers question 5 as the seed does (D: SMOTE plus balanced weights is best)",
        "answers": answers({**RIGHT, "q05": "D"}),
        "expected": points(set(RIGHT) - {"q05"}),
    },
    "lower_case_and_spaces": {
        "why": "right letters written as ' a', 'c ' and so on: still right",
        "answers": answers({q: f" {letter.lower()} " for q, letter in RIGHT.items()}),
        "expected": points(set(RIGHT)),
    },
    "always_a": {
        "why": "guesses A everywhere",
        "answers": answers(dict.fromkeys(RIGHT, "A")),
        "expected": points({q for q, letter in RIGHT.items() if letter == "A"}),
    },
    "not_letters": {
        "why": "returns an option's number or its text for half of the questions",
        "answers": answers({**RIGHT, "q01": 1, "q02": "Option A", "q03": ["B"], "q04": None, "q05": "C or D"}),
        "expected": points({"q06", "q07", "q08", "q09", "q10"}),
    },
}
