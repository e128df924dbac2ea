"""The grader's side of the boundary: what it accepts back from a student's kernel.

Threat model: the kernel runs the student's code, and everything it sends back is written by an
attacker who has read this repository (the helper in `kernel_side.py` can be replaced, and replies
forged in any shape). So a reply is only ever *data* here:
- plain values are decoded into numbers, strings, containers, NumPy arrays (never pickles) and
  pandas frames;
- a scikit-learn / imbalanced-learn estimator is rebuilt here only when it is unfitted and every
  parameter is plain data, from the grader's own class (looked up among modules the grader has
  already imported, never imported by a name the kernel chose); its methods are the one piece of
  library code a reply can make the grader run, and `execute.py` bounds that work in time,
  memory and files;
- everything else (a function, a fitted estimator, an instance of the student's class, an
  estimator holding a callable) stays in the kernel and reaches the test as a `Remote`: a stand-in
  whose every use (a call, an attribute, `clone`) is a request run in the kernel, answered again
  with plain data or another `Remote`.
No function or object of the kernel's choosing is ever called here, and unknown or malformed
replies become `Unsupported`, a value that equals nothing.
"""
import base64
import builtins
import io
import json
import pickle
import sys
import warnings

import numpy as np

ESTIMATOR_MODULES = ("sklearn.", "imblearn.")
MAX_DEPTH = 40


class Unsupported:
    """A reply the grader does not take as data; it equals nothing but itself."""

    def __init__(self, what):
        self.what = what

    def __repr__(self):
        return f"<answer value the grader cannot check: {self.what}>"


class AnswerCrashed(RuntimeError):
    """The kernel died, hung, or refused while running the student's code."""


def builtin_class(names, base, default):
    """The first class named in `names` that is a builtin subclass of `base`, else `default`."""
    for name in names if isinstance(names, list) else []:
        cls = vars(builtins).get(str(name))
        if isinstance(cls, type) and issubclass(cls, base):
            return cls
    return default


def loaded_class(qualified):
    """The class `module.Name` if its module is already imported here (nothing is imported or run)."""
    module_name, _, name = str(qualified).rpartition(".")
    found = vars(sys.modules[module_name]).get(name) if module_name in sys.modules else None
    return found if isinstance(found, type) else None


def holds_stand_in(value, depth=0):
    """True when `value` is, or holds anywhere inside, something that is not plain data."""
    if isinstance(value, (Unsupported, Remote)) or depth > MAX_DEPTH:
        return True
    if isinstance(value, (list, tuple, set, frozenset)):
        return any(holds_stand_in(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return any(holds_stand_in(k, depth + 1) or holds_stand_in(v, depth + 1) for k, v in value.items())
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        return any(holds_stand_in(v, depth + 1) for v in value.ravel())
    return False


def library_class(qualified):
    """The grader's own scikit-learn / imbalanced-learn estimator or splitter class of that name, if loaded."""
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import BaseCrossValidator, BaseShuffleSplit
    cls = loaded_class(qualified)
    if cls is None or not cls.__module__.startswith(ESTIMATOR_MODULES):
        return None
    return cls if issubclass(cls, (BaseEstimator, BaseCrossValidator, BaseShuffleSplit)) else None


def rebuild_estimator(data, kernel, depth):
    cls = library_class(data.get("class"))
    if cls is None:
        return Unsupported(f"estimator {str(data.get('class'))[:100]}")
    params = {str(k): decode(v, kernel, depth + 1) for k, v in dict(data["params"]).items()}
    if holds_stand_in(params):  # built here only from plain data: a callable stays in the kernel
        return Unsupported(f"{cls.__name__} with parameters that are not plain data")
    try:
        return cls(**params)
    except Exception as error:
        return Unsupported(f"{cls.__name__} ({type(error).__name__})")


def decode(data, kernel=None, depth=0):
    """The value the kernel's reply describes, built from plain data only (`kernel` serves handles)."""
    if depth > MAX_DEPTH:
        return Unsupported("nested too deep")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is not dict:
        return Unsupported(type(data).__name__)
    tag = data.get("$")
    try:
        if tag == "float":
            return float(data["repr"]) if data["repr"] in ("nan", "inf", "-inf") else Unsupported("float")
        if tag in ("ndarray", "scalar"):
            array = np.load(io.BytesIO(base64.b64decode(data["npy"])), allow_pickle=False)
            return array if tag == "ndarray" else array[()]
        if tag == "objects":
            items = [decode(v, kernel, depth + 1) for v in data["items"]]
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array.reshape([int(n) for n in data["shape"]])
        if tag in ("list", "tuple", "set", "frozenset", "range"):
            items = [decode(v, kernel, depth + 1) for v in data["items"]]
            return {"tuple": tuple, "set": set, "frozenset": frozenset}.get(tag, list)(items)
        if tag == "dict":
            return {decode(k, kernel, depth + 1): decode(v, kernel, depth + 1) for k, v in data["items"]}
        if tag == "DataFrame":
            import pandas as pd
            frame = pd.DataFrame({i: decode(c, kernel, depth + 1) for i, c in enumerate(data["data"])},
                                 index=decode(data["index"], kernel, depth + 1))
            frame.columns = decode(data["columns"], kernel, depth + 1)
            return frame
        if tag == "Series":
            import pandas as pd
            return pd.Series(decode(data["data"], kernel, depth + 1), index=decode(data["index"], kernel, depth + 1),
                             name=decode(data["name"], kernel, depth + 1))
        if tag == "estimator":
            return rebuild_estimator(data, kernel, depth)
        if tag == "handle" and kernel is not None:
            return Remote(kernel, int(data["id"]), [str(c) for c in data["classes"]][:50], bool(data["callable"]))
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:  # a forged reply
        return Unsupported(f"malformed {str(tag)[:40]} ({type(error).__name__})")
    return Unsupported(str(data.get("type", tag))[:100])


def decode_reply(text, kernel):
    """(value, error) from a kernel's reply; error is an exception for the test to see, or None.

    Warnings the student's code raised are raised again here (a test may record them); the grader
    shows the others as information, never as a failure (`execute.py`).
    """
    message = json.loads(text)
    if type(message) is not dict:
        return Unsupported("malformed reply"), None
    if "refused" in message:
        return None, AnswerCrashed(str(message["refused"])[:300])
    for caught in message.get("warnings", [])[:20] if type(message.get("warnings")) is list else []:
        if type(caught) is dict:
            warnings.warn_explicit(str(caught.get("message"))[:2000], builtin_class(caught.get("raised"), Warning, UserWarning),
                                   "<answer>", 0, module="answer", registry={})
    if "raised" in message:
        kind, text = str(message.get("kind"))[:200], str(message.get("message"))[:2000]
        cls = builtin_class(message["raised"], Exception, None)
        if cls is None:  # SystemExit, KeyboardInterrupt: not something a test may catch
            return None, AnswerCrashed(f"the answer raised {kind}: {text}")
        try:
            return None, cls(text)
        except Exception:  # a builtin exception that needs other arguments
            return None, RuntimeError(f"{kind}: {text}")
    if message.get("missing"):
        return None, None
    return decode(message.get("value"), kernel), None


class _Pickler(pickle.Pickler):
    """Pickles a request for the kernel; answers and handles travel as references, not values."""

    def persistent_id(self, obj):
        return ("handle", obj._number) if isinstance(obj, Remote) else None


def pack(op, target, args=(), kwargs=None):
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((op, target, tuple(args), dict(kwargs or {})))
    return base64.b64encode(buffer.getvalue()).decode()


class Remote:
    """An object that lives in the student's kernel. Tests use it as they would the object itself
    (call it, read attributes, `isinstance` against library classes, `clone`, `check_is_fitted`),
    and each use runs there; it equals nothing but itself, as comparing would need its code."""

    def __init__(self, kernel, number, classes, is_callable):
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_number", number)
        object.__setattr__(self, "_classes", classes)
        object.__setattr__(self, "_callable", is_callable)

    def _ask(self, op, *args, **kwargs):
        label = getattr(self._kernel, "answer_names", {}).get(self._number, self._name())
        return self._kernel.request(pack(op, self, args, kwargs), label)

    def _name(self):
        return self._classes[0].rpartition(".")[2] if self._classes else "answer"

    @property
    def __class__(self):  # isinstance(answer, Pipeline) holds for what the kernel's object is
        for qualified in self._classes:
            cls = library_class(qualified)
            if cls is not None:
                return cls
        return Remote

    def __repr__(self):
        return f"<{self._name()} in the student's kernel>"

    def __call__(self, *args, **kwargs):
        if not self._callable:
            raise TypeError(f"'{self._name()}' object is not callable")
        return self._ask("call", *args, **kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # Python's own protocols are not asked of the kernel
        value = self._ask("getattr", name)
        return value

    def __setattr__(self, name, value):
        raise AttributeError("an answer in the student's kernel cannot be changed by a test")

    def __getitem__(self, key):
        return self._ask("getitem", key)

    def __len__(self):
        return int(self._ask("len"))

    def __iter__(self):
        return iter(self._ask("list"))

    def __bool__(self):
        return True

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __reduce_ex__(self, protocol):
        raise TypeError("an answer in the student's kernel cannot be pickled or copied by value")

    def __sklearn_clone__(self):  # a fresh, unfitted copy, made in the kernel
        return self._ask("clone")

    def __sklearn_tags__(self):  # scikit-learn's tags, rebuilt here from the kernel's plain answer
        import dataclasses
        from sklearn import utils
        data = self._ask("tags")
        kinds = {"target_tags": utils.TargetTags, "transformer_tags": utils.TransformerTags,
                 "classifier_tags": utils.ClassifierTags, "regressor_tags": utils.RegressorTags,
                 "input_tags": utils.InputTags}
        fields = {f.name for f in dataclasses.fields(utils.Tags)}
        values = {k: kinds[k](**v) if k in kinds and isinstance(v, dict) else v for k, v in dict(data).items() if k in fields}
        return utils.Tags(**values)

    def __sklearn_is_fitted__(self):
        return bool(self._ask("is_fitted"))

    def source_uses_module(self, prefix):
        """For `imbalanced_course.checks.uses_module`: judged on the submitted source, held here."""
        return self._kernel.source_uses_module(self, prefix)
