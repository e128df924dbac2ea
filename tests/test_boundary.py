"""The boundary between the student's kernel and the grader, attacked and used, with a real kernel.

A real sandboxed kernel runs student code; the grader's side (`autograder/answers.py`) decodes what
it sends. Answers with behaviour (functions, fitted estimators, the student's own classes,
estimators holding callables) stay in the kernel and still work in tests; forged replies of every
shape decode to inert values, and nothing they name runs here: a marker their payload would write
never appears.
"""
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from imblearn.pipeline import Pipeline as ImbPipeline
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted

from autograder import answers, sandbox
from autograder.execute import GraderKernel, bounded
from autograder.kernel import StudentKernel
from imbalanced_course.checks import uses_module

STUDENT = """
import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import make_pipeline, Pipeline
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score, make_scorer
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from sklearn.datasets import make_classification

X0, y0 = make_classification(n_samples=200, weights=[0.8], random_state=0)
fitted = LogisticRegression().fit(X0, y0)
log_then_lr = make_pipeline(FunctionTransformer(func=np.log1p), LogisticRegression())
scored = TunedThresholdClassifierCV(LogisticRegression(), scoring=make_scorer(balanced_accuracy_score), cv=3)

class MyPipeline(Pipeline):
    pass

mine = MyPipeline([("scale", StandardScaler()), ("model", LogisticRegression())])
plain_pipeline = make_pipeline(StandardScaler(), SMOTE(random_state=3), LogisticRegression())
seen = []

def remembering(X, y=None):
    seen.append(np.asarray(X).shape)  # a side effect in the kernel, invisible to the grader
    return len(seen)

def with_imblearn(X, y):
    return SMOTE().fit_resample(X, y)

def without_imblearn(X, y):
    return np.asarray(X), np.asarray(y)
"""


@pytest.fixture(scope="module")
def kernel():
    base = Path(tempfile.mkdtemp(prefix="imbc-"))
    scratch = sandbox.prepare_scratch(base / "w6", [])
    kernel = GraderKernel(scratch, hide=[], call_timeout=60, max_reply_bytes=2 * 2**20)
    kernel.source_check = lambda name, prefix: __import__("imbalanced_course.checks").checks.source_uses_module(
        [STUDENT], name, prefix)
    outputs = kernel.run_cell(STUDENT, 120, "student")
    assert not [o for o in outputs if o.output_type == "error"], outputs
    yield kernel
    kernel.stop()
    shutil.rmtree(base)


def test_a_plain_unfitted_pipeline_is_rebuilt_here(kernel):
    pipe = kernel.describe("plain_pipeline")
    assert type(pipe) is ImbPipeline  # the grader's own object: it can be fitted here, bounded
    assert pipe.steps[1][1].random_state == 3


def test_a_fitted_estimator_stays_in_the_kernel_and_works(kernel):
    model = kernel.describe("fitted")
    assert isinstance(model, answers.Remote) and isinstance(model, LogisticRegression)
    check_is_fitted(model)
    X, _ = make_classification(n_samples=20, random_state=1)
    assert model.predict(X).shape == (20,)
    assert model.coef_.shape == (1, 20)
    fresh = clone(model)  # cloned in the kernel: unfitted, so plain data, rebuilt here
    assert type(fresh) is LogisticRegression
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)


def test_estimators_holding_callables_stay_in_the_kernel_and_work(kernel):
    pipe = kernel.describe("log_then_lr")
    assert isinstance(pipe, ImbPipeline) and isinstance(pipe, answers.Remote)
    assert isinstance(pipe.steps[0][1], FunctionTransformer)
    X, y = make_classification(n_samples=100, random_state=2)
    assert pipe.fit(np.abs(X), y).predict(np.abs(X)).shape == (100,)
    copy = clone(pipe)  # a callable inside: the clone too stays in the kernel, unfitted
    assert isinstance(copy, answers.Remote) and copy is not pipe
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)
    tuned = kernel.describe("scored")
    assert isinstance(tuned, TunedThresholdClassifierCV)
    reference = LogisticRegression().fit(X, y)
    assert np.isclose(tuned.scoring(reference, X, y), balanced_accuracy_score(y, reference.predict(X)))


def test_an_instance_of_the_students_class_passes_isinstance_against_its_library_base(kernel):
    mine = kernel.describe("mine")
    assert isinstance(mine, ImbPipeline) and [name for name, _ in mine.steps] == ["scale", "model"]
    X, y = make_classification(n_samples=60, random_state=4)
    assert len(mine.fit(X, y).predict(X)) == 60


def test_functions_run_in_the_kernel_and_their_code_is_judged_on_the_source(kernel):
    remembering = kernel.describe("remembering")
    assert remembering(np.zeros((3, 2))) == 1 and remembering(np.zeros((5, 2))) == 2
    assert uses_module(kernel.describe("with_imblearn"), "imblearn")
    assert not uses_module(kernel.describe("without_imblearn"), "imblearn")


def test_a_reply_above_the_limit_is_refused_with_a_reason(kernel):
    kernel.run_cell("def huge():\n    return np.zeros(1_000_000)\n", 60, "huge")  # 8 MB, above the 2 MB limit
    with pytest.raises(answers.AnswerCrashed, match="above the grader's limit of 2 MB"):
        kernel.describe("huge")()


def test_the_grader_runs_no_writes_or_processes_on_a_students_choices(tmp_path, kernel):
    from sklearn.pipeline import Pipeline
    X, y = make_classification(n_samples=50, random_state=0)
    cached = Pipeline([("model", LogisticRegression())], memory=str(tmp_path / "cache"))  # plain data
    with pytest.raises(PermissionError), bounded(30, tmp_path):
        cached.fit(X, y)
    assert not (tmp_path / "cache").exists()
    with bounded(30, tmp_path):  # n_jobs=-1 runs, on one thread
        RandomForestClassifier(n_estimators=5, n_jobs=-1, random_state=0).fit(X, y)


def test_a_plain_estimator_that_would_fit_for_hours_stops_at_the_time_limit(tmp_path):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from autograder.execute import TestTimeout
    X, y = make_classification(n_samples=500, random_state=0)
    endless = HistGradientBoostingClassifier(max_iter=10**7, early_stopping=False)  # plain data: fitted here
    with pytest.raises(Exception), bounded(3, tmp_path) as clock:
        endless.fit(X, y)
    # The alarm may land inside compiled code, which then raises an error of its own: the clock
    # keeps the cause, which is what the test's output reports.
    assert isinstance(clock.expired, TestTimeout)


FORGED = {  # what a tampered helper publishes, and what the grader must make of it
    "function by name": {"$": "function", "name": "sklearn.base:os.system"},
    "class walking attributes": {"$": "estimator", "class": "sklearn.base.os.system", "params": {}},
    "a class that is no estimator": {"$": "estimator", "class": "subprocess.Popen", "params": {"args": "touch MARK"}},
    "callable hidden in a nested parameter": {
        "$": "estimator", "class": "imblearn.pipeline.Pipeline",
        "params": {"steps": {"$": "list", "items": [{"$": "tuple", "items": ["f", {
            "$": "estimator", "class": "sklearn.preprocessing._function_transformer.FunctionTransformer",
            "params": {"func": {"$": "function", "name": "sklearn.utils:os.system"}}}]}]}}},
    "scorer by name": {"$": "scorer", "function": {"$": "function", "name": "os:system"}, "sign": 1},
    "unknown tag": {"$": "pickle", "data": "gASVAAAA"},
    "malformed array": {"$": "ndarray", "npy": "not base64!"},
    "deep nesting": eval("{'$': 'list', 'items': [" * 60 + "]}" * 60),
    "handle with a made-up number": {"$": "handle", "id": 10**9, "classes": ["builtins.str"], "callable": True},
}


@pytest.mark.parametrize("forged", list(FORGED), ids=list(FORGED))
def test_forged_replies_decode_to_inert_values(tmp_path, forged):
    marker = tmp_path / "MARK"
    value = answers.decode(FORGED[forged], kernel=None)
    assert isinstance(value, answers.Unsupported) or value == [] or isinstance(value, list), value
    if hasattr(value, "fit"):
        with pytest.raises(Exception), bounded(10, tmp_path):
            value.fit([[0.0]], [0])
    assert not marker.exists()


def test_a_forged_reply_of_any_shape_reaches_the_test_as_data_only(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="imbc-"))
    scratch = sandbox.prepare_scratch(base / "w6", [])
    kernel = StudentKernel(scratch, hide=[], call_timeout=30)
    forged = repr(__import__("json").dumps(FORGED["callable hidden in a nested parameter"]))
    try:
        kernel.run_cell(  # the helper replaced: each request is answered twice with forged data
            "from IPython.display import publish_display_data as _p\n"
            "def _forged(payload):\n"
            f"    _p({{'application/x.imbalanced-course.result+json': '{{\"value\": ' + {forged} + '}}'}})\n"
            "    _p({'application/x.imbalanced-course.result+json': '{\"value\": \"second\"}'})\n"
            "__grader__.request = _forged\n", 60, "forger")
        value = kernel.describe("anything")
        assert isinstance(value, answers.Unsupported), value
    finally:
        kernel.stop()
        shutil.rmtree(base)
