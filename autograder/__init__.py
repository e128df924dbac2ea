"""The grading side of the course: `make grade` runs `python -m autograder.grade`."""
