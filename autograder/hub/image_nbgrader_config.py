"""nbgrader's global configuration in the class image (copied to /etc/jupyter/nbgrader_config.py).

Every user pod reads it: students' Assignments tab fetches from and submits to the exchange, and the
grader pod releases to and collects from it. The exchange is the class's ReadWriteMany volume,
mounted at the same path in every pod (autograder/hub/z2jh-values.yaml, grader.yaml). The course id
is the one in the repository's nbgrader_config.py and the name of the formgrader's hub service.
"""
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.CourseDirectory.course_id = "imbalanced-course"
c.Exchange.root = "/srv/nbgrader/exchange"
