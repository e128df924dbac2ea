"""Collect submissions downloaded from Canvas or Moodle: what `make collect-lms` runs.

nbgrader's `zip_collect` does the work; this module configures it for the two LMSs' downloads:

- `TimedExtractor` extracts like nbgrader's extractor and keeps each zip entry's time as the file's
  modification time (the submission time the download carries; nbgrader's extraction loses it).
- `CanvasCollector` and `MoodleCollector` read the LMS's file names, relative to the extracted
  folder (nbgrader's own collector matches its expression against the whole path):
  Canvas `lastfirst[_LATE]_<user id>_<submission id>_<file>` (a re-uploaded file gets `-1`, `-2`...
  before its extension), Moodle `<Full name>_<participant id>_assignsubmission_file_/<file>` (a
  folder per participant) or `..._assignsubmission_file_<file>` (flat). They map the LMS's id to
  the course's student id through an optional roster CSV, keep one file per student and notebook
  (the newest; a later resubmission number wins a tie), and record every decision in
  `autograder/downloaded/<assignment>/collected.csv` (student, time, late flag) and `skipped.csv`.
- `LatePenaltyPerDay` is a late-submission policy for nbgrader's `AssignLatePenalties`
  (nbgrader_config.py sets it): a share of the notebook's score per started day late.

`collection_note()` says for a report line when a collected submission came in and whether late.

`main()` copies the LMS's zip into nbgrader's archive folder, runs the real `nbgrader zip_collect`
and fails with what was expected and what was found when nothing was collected.
"""
import argparse
import csv
import datetime
import math
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from dateutil import parser as dateparser
from dateutil.tz import UTC, gettz
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin, LateSubmissionPlugin
from traitlets import Float, Unicode
from traitlets.config import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
DOWNLOADED = Path("autograder") / "downloaded"  # nbgrader's downloaded_directory, relative to the course root
COLLECTED_FIELDS = ["student_id", "lms_id", "name", "notebook", "submitted", "late", "lms_folder", "file"]
ZIP_EPOCH_YEAR = 1980  # a zip entry dated 1980-01-01 carries no time


def read_roster(path):
    """{LMS id: row} from a roster CSV: Canvas's gradebook export (its `ID` column), Moodle's grading
    worksheet (`Identifier`, "Participant 123"), or any CSV with an `lms_id` column. Each row gets
    `student_id`: its `student_id` column where there is one, else Moodle's e-mail address (stable
    across assignments, unlike participant ids), else the LMS id."""
    rows = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:  # Excel adds a byte-order mark
        for row in csv.DictReader(fh):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            lms_id = row.get("lms_id") or row.get("ID") or row.get("Identifier", "").removeprefix("Participant").strip()
            if not lms_id.isdigit():  # Canvas's "Points Possible" row, blank lines
                continue
            row["student_id"] = row.get("student_id") or row.get("Email address") or lms_id
            rows[lms_id] = row
    if not rows:
        sys.exit(f"No student in roster {path}: expected a column `ID` (Canvas), `Identifier` (Moodle) or `lms_id`.")
    return rows


def submission_time(row):
    """The submission time a roster row gives (`submitted`, or Moodle's worksheet column), or None."""
    text = row.get("submitted") or row.get("Last modified (submission)") or ""
    try:
        return dateparser.parse(text) if text and text != "-" else None
    except (ValueError, OverflowError):
        return None


class TimedExtractor(ExtractorPlugin):
    """nbgrader's extractor, keeping each zip entry's time as the extracted file's mtime."""

    zip_timezone = Unicode("UTC", help="Time zone of the times in the LMS's zip (zip entries carry no zone).").tag(config=True)

    def extract(self, archive_path, extracted_path):
        super().extract(archive_path, extracted_path)
        zone = gettz(self.zip_timezone) or UTC
        for root, _, files in os.walk(archive_path):
            for name in files:
                if not zipfile.is_zipfile(os.path.join(root, name)):
                    continue
                # nbgrader extracts a.zip into extracted/<same relative folder>/a/
                into = Path(extracted_path, os.path.relpath(root, archive_path), os.path.splitext(name)[0])
                with zipfile.ZipFile(os.path.join(root, name)) as archive:
                    for entry in archive.infolist():
                        target = into / entry.filename
                        if entry.is_dir() or not target.is_file():
                            continue
                        when = (datetime.datetime(*entry.date_time, tzinfo=zone).timestamp()
                                if entry.date_time[0] > ZIP_EPOCH_YEAR else 0)  # 0: no time, the roster may give it
                        os.utime(target, (when, when))


class LmsCollector(FileNameCollectorPlugin):
    """Reads an LMS's file names; subclasses set `named_regexp` with groups name, lms_id, file_id."""

    lms = "LMS"
    roster = Unicode("", help="Roster CSV mapping the LMS's ids to student ids (optional).").tag(config=True)
    late_after = Unicode("", help="Due date: a later submission is flagged late (Canvas flags its own).").tag(config=True)

    def start(self):
        """Read the roster and choose, once, one file per student and notebook."""
        app = self.parent
        self.extracted = Path(app._format_collect_path(app.extracted_directory))
        self.folder = self.extracted.parent  # downloaded/<assignment>/
        self.people = read_roster(self.roster) if self.roster else None
        source = Path(app.coursedir.root) / app.coursedir.source_directory / app.coursedir.assignment_id
        self.notebooks = {p.name for p in source.glob("*.ipynb")}
        due = dateparser.parse(self.late_after) if self.late_after else None
        self.due = due.replace(tzinfo=due.tzinfo or UTC) if due else None
        self.chosen, self.skipped = {}, []
        for path in sorted(p for p in self.extracted.rglob("*") if p.is_file()):
            found = self.read(path)
            if isinstance(found, str):
                self.skipped.append({"file": str(path.relative_to(self.extracted)), "reason": found})
                continue
            key = (found["student_id"], found["notebook"])
            rival = self.chosen.get(key)
            if rival and found["rank"] < rival["rank"]:
                found, rival = rival, found
            if rival:
                self.skipped.append({"file": rival["file"], "reason": f"older than {Path(found['file']).name}"})
            self.chosen[key] = found
        self.write()

    def read(self, path):
        """What one extracted file is (a dict), or why it is not collected (a string)."""
        relative = str(path.relative_to(self.extracted))
        match = re.search(self.named_regexp, relative)
        if not match:
            return f"not a {self.lms} submission file name"
        info = match.groupdict()
        if Path(info["file_id"]).suffix not in self.valid_ext:
            return f"not a notebook ({Path(info['file_id']).suffix or 'no extension'})"
        lms_id, name = info["lms_id"], info["name"]
        row = self.people.get(lms_id) if self.people is not None else {"student_id": lms_id}
        if row is None:
            return f"{self.lms} id {lms_id} ({name}) is not in the roster {self.roster}: add them and collect again"
        mtime = path.stat().st_mtime
        submitted = datetime.datetime.fromtimestamp(mtime, UTC) if mtime else submission_time(row)
        if submitted and not submitted.tzinfo:
            submitted = submitted.replace(tzinfo=UTC)
        late = bool(info.get("late")) or bool(self.due and submitted and submitted > self.due)
        notebook, resubmission = self.notebook_name(info["file_id"])
        return {
            "student_id": row["student_id"], "lms_id": lms_id, "name": name, "notebook": notebook,
            "submitted": submitted.astimezone(UTC).isoformat() if submitted else "", "late": late,
            "lms_folder": match.group("folder") or "", "file": relative,
            "rank": (submitted.timestamp() if submitted else 0, resubmission, relative),
        }

    def notebook_name(self, file_id):
        return file_id, 0

    def write(self):
        with open(self.folder / "collected.csv", "w", newline="") as fh:
            out = csv.DictWriter(fh, COLLECTED_FIELDS, extrasaction="ignore")
            out.writeheader()
            out.writerows(sorted(self.chosen.values(), key=lambda f: (f["student_id"], f["notebook"])))
        with open(self.folder / "skipped.csv", "w", newline="") as fh:
            out = csv.DictWriter(fh, ["file", "reason"])
            out.writeheader()
            out.writerows(self.skipped)

    def collect(self, submitted_file):
        """nbgrader's hook, called for every extracted file with its full path."""
        if not hasattr(self, "chosen"):
            self.start()
        relative = str(Path(submitted_file).relative_to(self.extracted))
        for found in self.chosen.values():
            if found["file"] == relative:
                return {"student_id": found["student_id"], "file_id": found["notebook"],
                        "timestamp": found["submitted"] or None}
        return None


class CanvasCollector(LmsCollector):
    lms = "Canvas"
    named_regexp = Unicode(
        r"(?:^|/)(?P<folder>(?P<name>[^/_]+)_(?:(?P<late>LATE|late)_)?(?P<lms_id>\d+)_\d+_)(?P<file_id>[^/]+)$"
    ).tag(config=True)

    def notebook_name(self, file_id):
        """Canvas names a re-uploaded file `02_syntax-1.ipynb`: the number ranks resubmissions."""
        match = re.fullmatch(r"(.*)-(\d+)(\.ipynb)", file_id)
        if match and file_id not in self.notebooks and match[1] + match[3] in self.notebooks:
            return match[1] + match[3], int(match[2])
        return file_id, 0


class MoodleCollector(LmsCollector):
    lms = "Moodle"
    # `folder` is the prefix Moodle's feedback-zip upload reads back: its folder for the participant.
    named_regexp = Unicode(
        r"(?:^|/)(?P<folder>(?P<name>[^/_]+)_(?P<lms_id>\d+)_assignsubmission_file_)/?(?P<file_id>[^/]+)$"
    ).tag(config=True)


class LatePenaltyPerDay(LateSubmissionPlugin):
    """Takes `percent_per_day` of the notebook's score for each started day late (0: no penalty)."""

    percent_per_day = Float(0, help="Per cent of the score taken per started day late; 100 or more zeroes it.").tag(config=True)

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        days = math.ceil(total_seconds_late / 86400)
        return min(score, score * self.percent_per_day * days / 100) if self.percent_per_day else None


COLLECTORS = {"canvas": CanvasCollector, "moodle": MoodleCollector}


def collection_note(root, assignment, student_id):
    """What the LMS's download said of a student's submission, for a grading report line:
    "submitted 2026-12-02 08:15 UTC, late", or "" when it was not collected from an LMS."""
    collected = Path(root) / DOWNLOADED / assignment / "collected.csv"
    if not collected.exists():
        return ""
    with open(collected, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        if row["student_id"] == student_id and row["submitted"]:
            when = datetime.datetime.fromisoformat(row["submitted"]).astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
            return f"submitted {when}" + (", late" if row["late"] == "True" else "")
    return ""


def open_gradebook(root):
    """The course's gradebook under `root`, for the course id nbgrader_config.py names."""
    course_id = PyFileConfigLoader("nbgrader_config.py", path=str(REPO)).load_config().CourseDirectory.course_id
    return Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", course_id)


def due_date(root, assignment, due=None):
    """Record `due` as the assignment's due date in the gradebook (nbgrader computes lateness and its
    penalty from it), or return the one recorded before (None without one)."""
    database = root / "autograder" / "gradebook.db"
    if not due and not database.exists():
        return None
    with open_gradebook(root) as gradebook:
        if due:
            gradebook.update_or_create_assignment(assignment, duedate=due)
            return due
        try:
            found = gradebook.find_assignment(assignment).duedate
        except MissingEntry:
            return None
        return f"{found.isoformat()} UTC" if found else None  # nbgrader keeps due dates in UTC


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="course folder (default: this repository)")
    parser.add_argument("--assignment", required=True, help="assignment name, a folder of source/")
    parser.add_argument("--zip", type=Path, required=True, help="the LMS's download of all submissions")
    parser.add_argument("--lms", choices=sorted(COLLECTORS), required=True)
    parser.add_argument("--roster", type=Path, help="CSV mapping the LMS's ids to student ids (see docs/instructor-guide.md)")
    parser.add_argument("--due", help="due date, e.g. '2026-12-01 23:59 UTC': lateness and nbgrader's late penalty")
    parser.add_argument("--zip-timezone", default="UTC", help="time zone of the zip's entry times (default: UTC)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if not (root / "source" / args.assignment).is_dir():
        sys.exit(f"No assignment {args.assignment!r} in {root / 'source'}.")
    if not zipfile.is_zipfile(args.zip):
        sys.exit(f"{args.zip} is not a zip file: give the LMS's 'download all submissions' zip.")
    folder = root / DOWNLOADED / args.assignment
    shutil.rmtree(folder / "archive", ignore_errors=True)
    (folder / "archive").mkdir(parents=True)
    shutil.copy(args.zip, folder / "archive" / args.zip.name)
    due = due_date(root, args.assignment, args.due)  # Moodle's download has no late flag: the due date gives it
    collector = COLLECTORS[args.lms]
    command = [
        sys.executable, "-m", "nbgrader", "zip_collect", args.assignment, "--force",
        f"--CourseDirectory.root={root}",
        f"--CourseDirectory.db_url=sqlite:///{root / 'autograder' / 'gradebook.db'}",
        # relative: nbgrader joins the root and this folder before formatting, so an absolute one breaks
        f"--ZipCollectApp.downloaded_directory={DOWNLOADED}",
        "--ZipCollectApp.extractor_plugin=autograder.lms.TimedExtractor",
        f"--ZipCollectApp.collector_plugin=autograder.lms.{collector.__name__}",
        f"--TimedExtractor.zip_timezone={args.zip_timezone}",
        f"--LmsCollector.roster={args.roster.resolve() if args.roster else ''}",
        f"--LmsCollector.late_after={due or ''}",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"nbgrader zip_collect failed:\n{done.stdout}{done.stderr}")
    collected = list(csv.DictReader(open(folder / "collected.csv", newline="")))
    skipped = list(csv.DictReader(open(folder / "skipped.csv", newline="")))
    submitted = root / "autograder" / "submitted"
    for row in collected:
        place = submitted / row["student_id"] / args.assignment / row["notebook"]
        if not place.is_file():
            sys.exit(f"nbgrader zip_collect did not copy {row['file']} to {place}:\n{done.stdout}{done.stderr}")
        print(f"collected {row['student_id']} {args.assignment}/{row['notebook']}: submitted "
              f"{row['submitted'] or 'at an unknown time'}{', LATE' if row['late'] == 'True' else ''} ({row['file']})")
    for row in skipped:
        print(f"not collected: {row['file']}: {row['reason']}")
    if not collected:
        example = {"canvas": "doejane_12345_678901_02_syntax.ipynb (LATE after the name when late)",
                   "moodle": "Jane Doe_12345_assignsubmission_file_/02_syntax.ipynb, or ..._file_02_syntax.ipynb"}[args.lms]
        sys.exit(f"No notebook collected from {args.zip} (LMS={args.lms}): expected files named like {example}; "
                 f"found {len(skipped)} file(s) that are not, listed above.")
    students = len({row["student_id"] for row in collected})
    print(f"{len(collected)} notebook(s) of {students} student(s) in {submitted}/<student>/{args.assignment}/; "
          f"{len(skipped)} file(s) not collected. List: {folder / 'collected.csv'}")


if __name__ == "__main__":
    main()
