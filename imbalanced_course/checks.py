"""Property checks on resampled data, used by the autograded tests and the lessons.

They check what SMOTE promises instead of comparing with one random draw: originals are kept, class
counts are as asked, and every synthetic sample lies on a segment joining a minority sample to one of
its nearest minority neighbours.
"""
import ast
import types
from collections import Counter

import numpy as np
from sklearn.neighbors import NearestNeighbors


def neighbour_segments(X_minority, k_neighbors):
    """Return the end points (starts, ends) of every segment SMOTE may draw on.

    One segment per minority sample and each of its `k_neighbors` nearest minority neighbours
    (itself excluded); both arrays have shape (n_minority * k_neighbors, n_features).
    """
    X_minority = np.asarray(X_minority, dtype=float)
    k = min(k_neighbors, len(X_minority) - 1)
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X_minority)
    _, idx = nn.kneighbors(X_minority)
    starts = np.repeat(np.arange(len(X_minority)), k)
    ends = idx[:, 1:].ravel()
    return X_minority[starts], X_minority[ends]


def off_segment_mask(points, X_minority, k_neighbors=5, rtol=1e-6):
    """Boolean mask, one entry per row of `points`: True where the point lies on no segment
    joining a minority sample to one of its `k_neighbors` nearest minority neighbours."""
    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return np.zeros(0, dtype=bool)
    starts, ends = neighbour_segments(X_minority, k_neighbors)
    direction = ends - starts
    length2 = np.einsum("ij,ij->i", direction, direction)
    length2[length2 == 0] = 1.0  # duplicate samples: the segment is a point
    # Position of each point's projection along each segment, clipped to the segment.
    rel = points[:, None, :] - starts[None, :, :]
    t = np.clip(np.einsum("pij,ij->pi", rel, direction) / length2, 0.0, 1.0)
    closest = starts[None, :, :] + t[..., None] * direction[None, :, :]
    distance = np.linalg.norm(points[:, None, :] - closest, axis=2).min(axis=1)
    scale = np.abs(np.asarray(X_minority, dtype=float)).max() + 1.0
    return distance > rtol * scale


def originals_kept(X, y, X_resampled, y_resampled):
    """True when every original (row, label) pair is still in the resampled data, as often as before."""
    def rows(X_, y_):
        return Counter((tuple(map(float, row)), str(label)) for row, label in zip(np.asarray(X_), np.asarray(y_)))

    return not (rows(X, y) - rows(X_resampled, y_resampled))


def synthetic_rows(X, X_resampled):
    """Rows of `X_resampled` that are not original rows of `X` (counted as a multiset)."""
    left = Counter(tuple(map(float, row)) for row in np.asarray(X))
    new = []
    for row in np.asarray(X_resampled, dtype=float):
        key = tuple(row)
        if left[key]:
            left[key] -= 1
        else:
            new.append(row)
    return np.array(new).reshape(-1, np.asarray(X).shape[1])


def copies_of_originals(rows, X):
    """Boolean mask, one entry per row of `rows`: True where the row equals some row of `X`.

    SMOTE interpolates, so its new samples are almost never exact copies; random oversampling
    only copies."""
    originals = {tuple(map(float, row)) for row in np.asarray(X)}
    return np.array([tuple(map(float, row)) in originals for row in np.asarray(rows)], dtype=bool)


def uses_module(func, prefix, seen=None):
    """True when `func`, or a function of its notebook that it calls, refers to a module named `prefix...`.

    The autograder runs tests outside the student's kernel, where an answer is a stand-in for the
    student's function: the stand-in's type offers `source_uses_module`, which judges the code the
    student submitted (see `source_uses_module`), not what the kernel says of it.
    """
    on_source = getattr(type(func), "source_uses_module", None)
    if on_source is not None:
        return on_source(func, prefix)
    seen = set() if seen is None else seen
    if func in seen:
        return False
    seen.add(func)
    codes = [func.__code__]
    while codes:
        code = codes.pop()
        codes.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
        for name in code.co_names:
            if name.startswith(prefix):
                return True
            obj = func.__globals__.get(name)
            if isinstance(obj, types.FunctionType) and uses_module(obj, prefix, seen):
                return True
            where = obj.__name__ if isinstance(obj, types.ModuleType) else getattr(obj, "__module__", None)
            if isinstance(where, str) and where.startswith(prefix):
                return True
    return False


def source_uses_module(sources, name, prefix):
    """True when the definition of `name` in `sources` (code cells, in order) refers to a module
    named `prefix...`: through a name imported from it, an import inside the code, a string naming it
    (`__import__("imblearn")`), or another definition of the cells that it uses, followed through.

    It reads the code without running it, so a grader can judge a submission on what was submitted.
    """
    imported, defined = {}, {}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    module = node.module if isinstance(node, ast.ImportFrom) else alias.name
                    imported[(alias.asname or alias.name).split(".")[0]] = module or ""
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined[node.name] = node  # the last definition is the one that counts
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for leaf in ast.walk(target):
                        if isinstance(leaf, ast.Name):
                            defined[leaf.id] = node
    todo, seen = [name], set()
    while todo:
        current = todo.pop()
        if current in seen or current not in defined:
            continue
        seen.add(current)
        for node in ast.walk(defined[current]):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                if any(m.startswith(prefix) for m in modules):
                    return True
            elif isinstance(node, ast.Name):
                if node.id.startswith(prefix) or imported.get(node.id, "").startswith(prefix):
                    return True
                todo.append(node.id)
            elif isinstance(node, ast.Attribute) and node.attr.startswith(prefix):
                return True
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith(prefix):
                return True
    return False


# Feedback while working. Graded test cells wrap their checks in `with check("Exercise 2, part b"):`
# A passing check prints one line to stdout; a failing one still raises its exception (nbgrader
# scores a test cell by whether it raised, and a pass writes nothing to stderr), but the notebook
# shows the check's message alone instead of a traceback: IPython renders an exception's
# `_render_traceback_()` when it has one. The grader runs test cells outside IPython, where only the
# exception and the printed line count, so grading is unchanged.

class check:
    """Context manager around one graded test cell's checks; `label` names the part ("Exercise 2, part b").

    `hidden=True` for a cell whose checks continue with hidden tests: a pass then says that the
    visible checks pass and the rest is checked at grading.
    """

    def __init__(self, label, hidden=False):
        self.label, self.hidden = label, hidden

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if error is None:
            print(f"{self.label}: the visible checks pass; hidden checks run when your work is graded."
                  if self.hidden else f"{self.label}: correct")
        elif isinstance(error, NotImplementedError):
            error._render_traceback_ = lambda: [
                f"{self.label}: not answered yet (the answer cell above still raises NotImplementedError)."]
        elif isinstance(error, AssertionError):
            message = str(error) or "a check failed."
            error._render_traceback_ = lambda: [f"{self.label}: not yet. {message}"]
        return False  # the exception, if any, goes on: the cell fails as nbgrader expects


def hidden_checks(label):
    """Say, in a test cell that holds only hidden tests, where its checks happen."""
    print(f"{label}: hidden checks on other data, run when your work is graded.")
