"""nbgrader settings for every account on the course hub: students, instructors and the formgrader.

prepare.py copies this file to ROOT/jupyter/, which the hub puts on each server's
JUPYTER_CONFIG_PATH; the hub also sets IMBC_EXCHANGE to ROOT/exchange. The formgrader's course
folder adds the repository's own nbgrader_config.py (course layout, feedback) on top.
"""
import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "imbalanced-course"
c.Exchange.root = os.environ["IMBC_EXCHANGE"]
