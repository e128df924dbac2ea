"""Runs inside the student's kernel: calls an answer for the grader and sends back plain data.

The grader sends this file's source to the kernel before the student's cells, as `__grader__`.
Nothing here is trusted: the student's code can change any of it, and can only spoil its own
answers by doing so. The grader decodes what comes back as data (JSON and .npy without pickles),
so no object of the student's ever runs in the grader.
"""
import base64
import io
import json
import pickle
import warnings

import numpy as np

RESULT_MIME = "application/x.imbalanced-course.result+json"
MAX_DEPTH = 20
ESTIMATOR_MODULES = ("sklearn.", "imblearn.")


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode()


def _estimator_params(value):
    if hasattr(value, "get_params"):
        return value.get_params(deep=False)
    import inspect
    return {name: getattr(value, name) for name in inspect.signature(type(value)).parameters if hasattr(value, name)}


def encode(value, depth=0):
    """`value` as JSON-ready plain data, tagged where JSON has no type for it."""
    if depth > MAX_DEPTH:
        return {"$": "unsupported", "type": "nesting too deep"}
    kind = type(value)
    if value is None or kind in (bool, int, str):
        return value
    if kind is float:
        return value if np.isfinite(value) else {"$": "float", "repr": repr(value)}
    if isinstance(value, (np.generic, np.ndarray)) and np.asarray(value).dtype.kind in "biufcUSMm":
        return {"$": "ndarray" if isinstance(value, np.ndarray) else "scalar", "npy": _npy(value)}
    if isinstance(value, np.ndarray):  # object arrays: item by item
        return {"$": "objects", "shape": list(value.shape), "items": [encode(v, depth + 1) for v in value.ravel().tolist()]}
    if kind in (list, tuple, set, frozenset, range):
        return {"$": kind.__name__, "items": [encode(v, depth + 1) for v in value]}
    if isinstance(value, dict):  # dict, Counter, OrderedDict, defaultdict: their items
        return {"$": "dict", "items": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(value)]}
    module = getattr(kind, "__module__", "") or ""
    if module.split(".")[0] == "pandas":
        import pandas as pd
        if isinstance(value, pd.DataFrame):
            return {"$": "DataFrame", "columns": encode(list(value.columns), depth + 1),
                    "index": encode(value.index.to_numpy(), depth + 1),
                    "data": [encode(value.iloc[:, i].to_numpy(), depth + 1) for i in range(value.shape[1])]}
        if isinstance(value, pd.Series):
            return {"$": "Series", "name": encode(value.name, depth + 1),
                    "index": encode(value.index.to_numpy(), depth + 1), "data": encode(value.to_numpy(), depth + 1)}
    if isinstance(value, type) or (callable(value) and hasattr(value, "__qualname__") and not hasattr(value, "get_params")):
        where = getattr(value, "__module__", "") or ""  # a function or class of scikit-learn: by name
        if where.startswith(ESTIMATOR_MODULES):
            return {"$": "function", "name": f"{where}:{value.__qualname__}"}
        return {"$": "unsupported", "type": f"function {where}.{getattr(value, '__qualname__', '?')}"}
    if module.startswith(ESTIMATOR_MODULES) and hasattr(value, "_score_func") and hasattr(value, "_sign"):
        return {"$": "scorer", "function": encode(value._score_func, depth + 1), "sign": int(value._sign),
                "kwargs": encode(dict(value._kwargs), depth + 1),
                "response_method": encode(getattr(value, "_response_method", "predict"), depth + 1)}
    if module.startswith(ESTIMATOR_MODULES):
        fitted = any(k.endswith("_") and not k.startswith("__") for k in vars(value))
        params = {name: encode(v, depth + 1) for name, v in _estimator_params(value).items()}
        return {"$": "estimator", "class": f"{module}.{kind.__qualname__}", "params": params, "fitted": fitted}
    return {"$": "unsupported", "type": f"{module}.{kind.__qualname__}"}


class _Arguments(pickle.Unpickler):
    """Arguments from the grader; a reference to an answer is the kernel's own object of that name."""

    def __init__(self, data, namespace):
        super().__init__(io.BytesIO(data))
        self.namespace = namespace

    def persistent_load(self, name):
        return self.namespace[name]


def _publish(message):
    from IPython.display import publish_display_data
    publish_display_data({RESULT_MIME: json.dumps(message)})


def _raised(error):
    return {"raised": [c.__name__ for c in type(error).__mro__ if c.__module__ == "builtins"],
            "kind": type(error).__qualname__, "message": str(error)[:2000]}


def describe(name):
    """What `name` is in the student's namespace: missing, callable, or a value."""
    namespace = get_ipython().user_ns  # noqa: F821 (IPython's)
    if name not in namespace:
        _publish({"missing": True})
    elif callable(namespace[name]):
        _publish({"callable": True})
    else:
        _publish({"value": encode(namespace[name])})


def call(name, payload, check=None):
    """Call answer `name` with the grader's pickled arguments (or pass it to a check) and publish the result."""
    namespace = get_ipython().user_ns  # noqa: F821
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            args, kwargs = _Arguments(base64.b64decode(payload), namespace).load()
            if check is None:
                message = {"value": encode(namespace[name](*args, **kwargs))}
            else:
                from imbalanced_course import checks
                message = {"value": encode(getattr(checks, check)(namespace[name], *args, **kwargs))}
        except BaseException as error:  # SystemExit and KeyboardInterrupt too: the grader reports them
            message = _raised(error)
    message["warnings"] = [{"raised": [c.__name__ for c in w.category.__mro__ if c.__module__ == "builtins"],
                            "message": str(w.message)[:2000]} for w in caught[:20]]
    _publish(message)
