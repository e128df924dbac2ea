"""nbgrader configuration: maps nbgrader's course layout onto this repository.

nbgrader reads this file when its commands run from the repository root, so
`nbgrader generate_assignment 02_syntax`, `nbgrader autograde 02_syntax`, ... work as documented
upstream. The Makefile passes `--CourseDirectory.root` and `--CourseDirectory.db_url` when it builds
into another folder (the drift test does that).
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

HERE = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "imbalanced-course"
c.CourseDirectory.root = HERE
c.CourseDirectory.source_directory = "source"  # authored here, and only here
c.CourseDirectory.release_directory = "notebooks"  # student versions
c.CourseDirectory.solution_directory = "solutions"  # executed reference versions
c.CourseDirectory.submitted_directory = os.path.join("autograder", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("autograder", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("autograder", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(HERE, "autograder", "gradebook.db")

# Generated notebooks must be byte-for-byte reproducible: no timing metadata in cells.
c.Execute.record_timing = False
c.Execute.timeout = 300

# Student code runs in a sandboxed kernel and the tests run in the grader (autograder/execute.py):
# nbgrader's own Execute step is replaced, the rest of its autograding is kept. Graded cells a
# student deleted are added back, so they are run and scored instead of silently missing.
from nbgrader.converters import Autograde  # noqa: E402 (after get_config, as traitlets loads it)
from nbgrader.preprocessors import Execute  # noqa: E402

c.Autograde.autograde_preprocessors = [
    "autograder.execute.SandboxedExecute" if step is Execute else step
    for step in Autograde.class_traits()["autograde_preprocessors"].default()
]
c.OverwriteCells.add_missing_cells = True
c.SandboxedExecute.timeout = 300  # seconds per cell, and per call of a test into the student's kernel
c.SandboxedExecute.budget = 1200  # seconds for one notebook in all: past it, what is left fails with that reason
c.SandboxedExecute.max_reply_mb = 32  # a larger reply from the student's kernel is refused, unread

# Feedback shows students their score per test cell and the visible tests' messages, never the
# hidden tests' source or expected values (stock nbgrader shows them: upstream issues 917, 1363).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "autograder.feedback.MarkHiddenTestCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "autograder.feedback.HideHiddenTestFailures",
    "autograder.feedback.NameTestCells",
    "autograder.feedback.MathToMathML",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]

# LMS downloads (`make collect-lms`, autograder/lms.py): nbgrader's zip_collect works in
# autograder/downloaded/<assignment>/ (git-ignored; relative, as zip_collect joins it to the root)
# and keeps the zip entries' times. `nbgrader zip_collect 02_syntax --collector=autograder.lms.CanvasCollector`
# (or MoodleCollector) also works directly, with the zip in autograder/downloaded/02_syntax/archive/.
c.ZipCollectApp.downloaded_directory = os.path.join("autograder", "downloaded")
c.ZipCollectApp.extractor_plugin = "autograder.lms.TimedExtractor"

# Late submissions (`make collect-lms ... DUE=...` records the due date and each submission's time):
# nbgrader's AssignLatePenalties asks this plugin for a penalty per late notebook. 0 per cent per
# day (the default) records lateness without a penalty; 100 zeroes a late notebook.
c.AssignLatePenalties.plugin_class = "autograder.lms.LatePenaltyPerDay"
c.LatePenaltyPerDay.percent_per_day = 0

# nbgrader's feedback template without its MathJax from a CDN, each test named in the contents: set
# on feedback's own exporter class, since the formgrader's HTMLExporter must keep its own template.
from autograder import feedback  # noqa: E402

c.GenerateFeedback.exporter_class = feedback.FeedbackExporter
c.FeedbackExporter.extra_template_basedirs = feedback.TEMPLATE_BASEDIRS
c.FeedbackExporter.template_file = feedback.TEMPLATE_FILE
