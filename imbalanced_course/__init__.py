"""Helpers shared by the course notebooks and their autograded tests."""
