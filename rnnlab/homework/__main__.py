"""``python -m rnnlab.homework``: build the notebooks, grade a class.

See the *For instructors* page.
"""

import argparse
import json
import sys
import time

__all__ = ["main"]


def _parser():
    from rnnlab.training.parallel import default_jobs

    parser = argparse.ArgumentParser(prog="python -m rnnlab.homework",
                                     description="Homework from the chapters of the rnnlab book.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="write student and solutions notebooks for every chapter with exercises")
    b.add_argument("out", help="folder for student/ and solutions/")
    g = sub.add_parser("grade", help="grade submitted notebooks, each in its own sandboxed kernel")
    g.add_argument("notebooks", nargs="+", help="the submissions (any file: a broken one gets a row with the reason)")
    g.add_argument("--jobs", type=int, default=default_jobs(), help="submissions graded at once (default: all cores)")
    g.add_argument("--chapter", help="grade every submission as this chapter's homework, e.g. 02_frn_bptt")
    g.add_argument("--gradebook", metavar="FILE.csv", help="one row per submission, a column per exercise, the total")
    g.add_argument("--feedback", metavar="DIR", help="one text file per submission: points and message per exercise")
    g.add_argument("--json", action="store_true", help="print the rows (submission × exercise) as JSON")
    g.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell (default 60)")
    g.add_argument("--total-timeout", type=int, default=300, help="seconds per submission (default 300)")
    g.add_argument("--no-sandbox", action="store_true", help="grade without bubblewrap even where it works")
    return parser


def main(argv=None):
    """The command line; returns the exit status (2 when grading had to stop)."""
    args = _parser().parse_args(argv)
    from rnnlab import homework
    from rnnlab.homework.sandbox import SubmissionChangedFiles

    if args.command == "build":
        for path in homework.build(args.out):
            print(path)
        return 0
    start = time.perf_counter()
    try:
        rows = homework.grade(args.notebooks, jobs=args.jobs, chapter=args.chapter, progress=not args.json,
                              limits={"cell_timeout": args.cell_timeout, "total_timeout": args.total_timeout},
                              sandboxed=False if args.no_sandbox else None)
    except SubmissionChangedFiles as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.gradebook:
        homework.gradebook(rows, args.gradebook)
    if args.feedback:
        homework.feedback(rows, args.feedback)
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(homework.summary(rows))
        print(f"graded in {time.perf_counter() - start:.0f} s with {args.jobs} jobs"
              + (f"; gradebook {args.gradebook}" if args.gradebook else "")
              + (f"; feedback in {args.feedback}/" if args.feedback else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
