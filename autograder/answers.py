"""The grader's side of a student's answers: data decoded from the kernel, and answers called there.

A test cell runs in the grader. Each answer it uses (a name the notebook's answer cells define) is
either a plain value decoded from the kernel, or a `RemoteAnswer`: calling it sends the arguments to
the kernel, runs the student's function there, and decodes its result. Decoding yields only plain
data: numbers, strings, containers, NumPy arrays without pickles, pandas frames, and scikit-learn or
imbalanced-learn estimators rebuilt here from their class and parameters. Anything else becomes an
`Unsupported` value that equals nothing, so no object of the student's can claim to pass a test.
"""
import base64
import builtins
import importlib
import io
import json
import pickle
import warnings

import numpy as np

from autograder.kernel_side import ESTIMATOR_MODULES


class Unsupported:
    """An answer value the grader does not take as data; it equals nothing but itself."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<answer value the grader cannot check: {self.what}>"


class AnswerCrashed(RuntimeError):
    """The kernel died or hung while running the student's code."""


def builtin_class(names, base, default):
    """The first class named in `names` that is a builtin subclass of `base`, else `default`."""
    for name in names:
        cls = getattr(builtins, str(name), None)
        if isinstance(cls, type) and issubclass(cls, base):
            return cls
    return default


def rebuild_estimator(data):
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
    module_name, _, name = str(data["class"]).rpartition(".")
    if data.get("fitted"):
        return Unsupported(f"a fitted {name}: answers are checked from their parameters, so return it unfitted")
    if not module_name.startswith(ESTIMATOR_MODULES):
        return Unsupported(data["class"])
    try:
        cls = getattr(importlib.import_module(module_name), name)
        if not (isinstance(cls, type) and issubclass(cls, (BaseEstimator, BaseCrossValidator, BaseShuffleSplit))):
            return Unsupported(data["class"])
        return cls(**{str(k): decode(v) for k, v in data["params"].items()})
    except Exception as error:
        return Unsupported(f"{data['class']} ({type(error).__name__})")


def named_function(name):
    """A function or class of scikit-learn or imbalanced-learn, from its "module:qualname"."""
    module_name, _, qualname = str(name).partition(":")
    if not module_name.startswith(ESTIMATOR_MODULES):
        return Unsupported(f"function {name}")
    try:
        found = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError):
        return Unsupported(f"function {name}")
    return found if callable(found) else Unsupported(f"function {name}")


def decode(data):
    """The value the kernel's `encode` describes, built from plain data only."""
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if not isinstance(data, dict):
        return Unsupported(type(data).__name__)
    tag = data.get("$")
    if tag == "float":
        return float(data["repr"]) if data["repr"] in ("nan", "inf", "-inf") else Unsupported("float")
    if tag in ("ndarray", "scalar"):
        array = np.load(io.BytesIO(base64.b64decode(data["npy"])), allow_pickle=False)
        return array if tag == "ndarray" else array[()]
    if tag == "objects":
        items = [decode(v) for v in data["items"]]
        array = np.empty(len(items), dtype=object)
        array[:] = items
        return array.reshape(data["shape"])
    if tag in ("list", "tuple", "set", "frozenset", "range"):
        items = [decode(v) for v in data["items"]]
        return {"tuple": tuple, "set": set, "frozenset": frozenset}.get(tag, list)(items)
    if tag == "dict":
        return {decode(k): decode(v) for k, v in data["items"]}
    if tag == "DataFrame":
        import pandas as pd
        columns = decode(data["columns"])
        frame = pd.DataFrame({i: decode(c) for i, c in enumerate(data["data"])}, index=decode(data["index"]))
        frame.columns = columns
        return frame
    if tag == "Series":
        import pandas as pd
        return pd.Series(decode(data["data"]), index=decode(data["index"]), name=decode(data["name"]))
    if tag == "estimator":
        return rebuild_estimator(data)
    if tag == "function":
        return named_function(data["name"])
    if tag == "scorer":
        from sklearn.metrics import make_scorer
        function = decode(data["function"])
        if isinstance(function, Unsupported):
            return Unsupported(f"a scorer of {function.what}")
        return make_scorer(function, greater_is_better=data["sign"] > 0, response_method=decode(data["response_method"]),
                           **decode(data["kwargs"]))
    return Unsupported(str(data.get("type", tag)))


def decode_message(text):
    """(value, error) from a kernel's result message; error is an exception to raise, or None."""
    message = json.loads(text)
    for caught in message.get("warnings", []):  # shown every time, as the kernel showed them: a fresh registry
        warnings.warn_explicit(str(caught["message"]), builtin_class(caught["raised"], Warning, UserWarning),
                               "<answer>", 0, module="answer", registry={})
    if "raised" in message:
        kind, text = str(message["kind"]), str(message["message"])
        cls = builtin_class(message["raised"], Exception, None)
        if cls is None:  # SystemExit, KeyboardInterrupt: not something a test may catch
            return None, AnswerCrashed(f"the answer raised {kind}: {text}")
        return None, cls(text)
    try:
        return decode(message["value"]), None
    except Exception as error:  # malformed data: the kernel's side was tampered with
        return Unsupported(f"undecodable ({type(error).__name__})"), None


class _ArgumentPickler(pickle.Pickler):
    """Pickles a test's arguments; an answer passed along is sent by name, not by value."""

    def persistent_id(self, obj):
        return obj.name if isinstance(obj, RemoteAnswer) else None


def pack_arguments(args, kwargs):
    buffer = io.BytesIO()
    _ArgumentPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((args, kwargs))
    return base64.b64encode(buffer.getvalue()).decode()


class RemoteAnswer:
    """A function the student wrote, called in their kernel by the grader's tests."""

    def __init__(self, kernel, name):
        self.kernel, self.name = kernel, name
        self.__name__ = self.__qualname__ = name

    def __repr__(self):
        return f"<answer {self.name}>"

    def __call__(self, *args, **kwargs):
        return self.kernel.call(self.name, pack_arguments(args, kwargs))

    def run_check(self, check, *args, **kwargs):
        """`imbalanced_course.checks.<check>(this function, *args)` run where the function lives."""
        return self.kernel.call(self.name, pack_arguments(args, kwargs), check=check)
