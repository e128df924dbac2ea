"""Runs inside the student's kernel: answers the grader's requests with plain data and handles.

The grader sends this file's source to the kernel before the student's cells, as `__grader__`.
Threat model: nothing here is trusted. The student's code can change or replace any of it and send
back any reply it likes; the grader (`autograder/answers.py`) treats every reply as data written by
an attacker. So this side only ever describes objects:
- plain data (numbers, strings, containers, NumPy arrays, pandas frames, and unfitted scikit-learn /
  imbalanced-learn estimators whose parameters are all plain data) is sent by value, and
- anything with behaviour of its own (a function, a fitted estimator, an instance of the student's
  class, an estimator holding a callable) stays here and is sent as a numbered handle. The grader
  uses a handle by asking this side to run an operation on it (call it, read an attribute, clone it)
  and gets plain data or another handle back. Its code never leaves the kernel.
"""
import base64
import io
import json
import pickle
import warnings

import numpy as np

RESULT_MIME = "application/x.imbalanced-course.result+json"
MAX_DEPTH = 20
MAX_ITEMS = 100_000  # items in one container: more is refused as not plain data
ESTIMATOR_MODULES = ("sklearn.", "imblearn.")
MAX_REPLY_BYTES = 32 * 2**20  # set by the grader when it loads this helper

_handles = {}  # handle number -> the object it stands for; the grader only ever holds the number
_numbers = {}  # id(object) -> its handle number, so the same object keeps the same handle


class _NotPlain(Exception):
    """Raised while encoding: the value has behaviour of its own, so it stays here behind a handle."""


class _TooLarge(Exception):
    """Raised while encoding: the reply would be above the grader's limit."""


def _npy(array):
    size = np.asarray(array).nbytes * 4 / 3  # base64: known before any work is done
    if size > MAX_REPLY_BYTES:
        raise _TooLarge(size)
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode()


def _is_fitted(value):
    return any(k.endswith("_") and not k.startswith("__") for k in vars(value))


def plain(value, depth=0):
    """`value` as JSON-ready plain data, tagged where JSON has no type for it; _NotPlain otherwise."""
    if depth > MAX_DEPTH:
        raise _NotPlain("nested too deep")
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if np.isfinite(value) else {"$": "float", "repr": repr(value)}
    if isinstance(value, (np.ndarray, np.generic)):  # subclasses too (a matrix, a masked array): their data
        if np.asarray(value).dtype.kind in "biufcUSMm":
            return {"$": "ndarray" if isinstance(value, np.ndarray) else "scalar", "npy": _npy(value)}
        if isinstance(value, np.ndarray) and value.dtype.kind == "O" and value.size <= MAX_ITEMS:
            return {"$": "objects", "shape": list(value.shape), "items": [plain(v, depth + 1) for v in value.ravel().tolist()]}
        raise _NotPlain(f"array of dtype {value.dtype}")
    container = kind if kind is range else next((c for c in (list, tuple, set, frozenset) if isinstance(value, c)), None)
    if container or isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            raise _NotPlain("too many items")
    if container:  # a namedtuple or another subclass too: its items
        return {"$": container.__name__, "items": [plain(v, depth + 1) for v in value]}
    if isinstance(value, dict):  # dict, Counter, OrderedDict, defaultdict: their items
        return {"$": "dict", "items": [[plain(k, depth + 1), plain(v, depth + 1)] for k, v in dict.items(value)]}
    module = getattr(kind, "__module__", "") or ""
    if module.split(".")[0] == "pandas":
        import pandas as pd
        if isinstance(value, pd.DataFrame):
            return {"$": "DataFrame", "columns": plain(list(value.columns), depth + 1),
                    "index": plain(value.index.to_numpy(), depth + 1),
                    "data": [plain(value.iloc[:, i].to_numpy(), depth + 1) for i in range(value.shape[1])]}
        if isinstance(value, pd.Series):
            return {"$": "Series", "name": plain(value.name, depth + 1),
                    "index": plain(value.index.to_numpy(), depth + 1), "data": plain(value.to_numpy(), depth + 1)}
    if module.startswith(ESTIMATOR_MODULES) and hasattr(value, "get_params") and not _is_fitted(value):
        params = value.get_params(deep=False)
        return {"$": "estimator", "class": f"{module}.{kind.__qualname__}",
                "params": {str(k): plain(v, depth + 1) for k, v in params.items()}}
    raise _NotPlain(f"{module}.{kind.__qualname__}")


def encode(value):
    """Plain data for `value`, or a handle to it."""
    try:
        return plain(value)
    except _TooLarge:
        raise
    except Exception:  # _NotPlain, or a broken __len__, get_params, ...: it stays here
        pass
    number = _numbers.get(id(value))
    if number is None or _handles.get(number) is not value:
        number = len(_handles) + 1
        _handles[number], _numbers[id(value)] = value, number
    classes = [f"{c.__module__}.{c.__qualname__}" for c in type(value).__mro__]
    return {"$": "handle", "id": number, "classes": classes, "callable": callable(value)}


class _Arguments(pickle.Unpickler):
    """Arguments from the grader; a reference to an answer or a handle is this kernel's own object."""

    def __init__(self, data, namespace):
        super().__init__(io.BytesIO(data))
        self.namespace = namespace

    def persistent_load(self, ref):
        kind, key = ref
        return self.namespace[key] if kind == "name" else _handles[key]


def _refusal(size):
    return {"refused": f"the reply is {size / 2**20:.0f} MB, above the grader's limit of {MAX_REPLY_BYTES / 2**20:.0f} MB"}


def _publish(message):
    from IPython.display import publish_display_data
    text = json.dumps(message)
    if len(text) > MAX_REPLY_BYTES:  # an honest kernel says so; a dishonest one meets the socket's limit
        text = json.dumps(_refusal(len(text)))
    publish_display_data({RESULT_MIME: text})


def _raised(error):
    return {"raised": [c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"],
            "kind": type(error).__qualname__, "message": str(error)[:2000]}


def _operation(op, target, args, kwargs):
    if op == "call":
        return target(*args, **kwargs)
    if op == "getattr":
        return getattr(target, *args)
    if op == "getitem":
        return target[args[0]]
    if op == "len":
        return len(target)
    if op == "list":
        return list(target)
    if op == "clone":
        from sklearn.base import clone
        return clone(target)
    if op == "tags":
        import dataclasses
        from sklearn.utils import get_tags
        return dataclasses.asdict(get_tags(target))
    if op == "is_fitted":
        from sklearn.utils.validation import check_is_fitted
        from sklearn.exceptions import NotFittedError
        try:
            check_is_fitted(target)
        except NotFittedError:
            return False
        return True
    raise ValueError(f"unknown operation {op!r}")


def request(payload):
    """Run the grader's request (pickled: operation, target, args, kwargs) and publish the result."""
    namespace = get_ipython().user_ns  # noqa: F821 (IPython's)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            op, target, args, kwargs = _Arguments(base64.b64decode(payload), namespace).load()
            if op == "describe":
                message = {"value": encode(namespace[target])} if target in namespace else {"missing": True}
            else:
                message = {"value": encode(_operation(op, target, args, kwargs))}
        except _TooLarge as error:
            message = _refusal(error.args[0])
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: the grader reports them
            message = _raised(error)
    message["warnings"] = [{"raised": [c.__name__ for c in w.category.__mro__ if c.__module__ == "builtins"],
                            "message": str(w.message)[:2000]} for w in caught[:20]]
    _publish(message)
