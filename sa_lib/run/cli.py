"""The ``sa`` command line.

Every user error (:class:`sa_lib.errors.SAError`) is printed as one clear message on
stderr with exit code 2, never as a Python traceback.  Unexpected errors exit 1.
Ctrl-C and SIGTERM stop a run cleanly (kernels shut down, staging folder removed,
the interruption recorded in the run journal) and exit 130 and 143, with one message.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sa_lib.errors import DataValidationError, SAError

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def _cmd_synth(args: argparse.Namespace) -> int:
    from sa_lib.data.synthetic import generate_partner_data

    written = generate_partner_data(Path(args.out), seed=args.seed,
                                    start_year=args.start_year, end_year=args.end_year)
    for kind, path in written.items():
        print(f"{kind:24s} {path}")
    print(f"SYNTHETIC partner data (seed {args.seed}) written to {args.out}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sa_lib.data.partner import validate_partner
    from sa_lib.data.partner_schema import PARTNER_KINDS

    if args.kind not in PARTNER_KINDS:
        raise SAError(f"--kind {args.kind!r} is not a partner data kind; choose from "
                      f"{', '.join(sorted(PARTNER_KINDS))}")
    problems = validate_partner(Path(args.file), args.kind)
    if problems:
        # Printed by main() as one "error:" message, like every other user error.
        raise DataValidationError(problems)
    print(f"{args.file}: OK ({args.kind})")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from sa_lib.data.parameters import load_parameters
    from sa_lib.run.batch import run_batch
    from sa_lib.run.runner import PRINT_COPIES_ENV, run_assessment

    if args.no_print:
        os.environ[PRINT_COPIES_ENV] = "0"  # read by the runner (and a batch's areas)
    areas = list(dict.fromkeys("all" if a.strip().lower() == "all" else a
                               for a in args.area or []))
    own = load_parameters(Path(args.parameters)).area.code
    if "all" in areas or (areas and (areas != [own] or args.scheduler == "dask")):
        batch = run_batch(Path(args.parameters), "all" if areas == ["all"] else areas,
                          workers=args.workers, scheduler=args.scheduler,
                          dask_address=args.dask_address, progress=not args.no_progress,
                          replace=args.replace, echo=print)
        for area, result in sorted(batch.results.items()):
            for path in result.reports:
                print(f"report ({area}): {path}")
        for area, message in sorted(batch.failures.items()):
            print(f"error ({area}): {message}", file=sys.stderr)
        n = len(batch.names)
        print(f"{len(batch.results)} of {n} areas built, {len(batch.failures)} failed, in "
              f"{batch.seconds:.1f} s ({batch.workers} at once; police.uk files read once, "
              f"{batch.read_seconds:.1f} s)" + (f"; index: {batch.index}" if batch.index else ""))
        return EXIT_FAILURE if batch.unexpected else 2 if batch.failures else 0
    result = run_assessment(Path(args.parameters), workers=args.workers,
                            progress=not args.no_progress, replace=args.replace)
    for path in result.reports:
        print(f"report: {path}")
    return 0


def _cmd_new_year(args: argparse.Namespace) -> int:
    from sa_lib.data.new_year import missing_inputs, new_year

    if args.check:
        if args.out:
            raise SAError("--check reads a parameters file and writes nothing; leave out --out")
        missing = missing_inputs(Path(args.parameters))
        for line in missing:
            print(f"missing: {line}")
        if not missing:
            print(f"{args.parameters}: nothing missing; run: sa run {args.parameters}")
            return 0
        print(f"{len(missing)} thing(s) still to supply for {args.parameters}")
        return EXIT_FAILURE
    notes: list[str] = []
    out = new_year(Path(args.parameters), Path(args.out) if args.out else None, notes=notes)
    for note in notes:
        print(note if note.startswith("warning:") else f"note: {note}",
              file=sys.stderr if note.startswith("warning:") else sys.stdout)
    print(f"next year's parameters written to {out}; see what is still missing with: "
          f"sa new-year --check {out}")
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from sa_lib.data.police_uk_fetch import fetch_police_uk

    result = fetch_police_uk(args.force, args.first, args.last, args.out,
                             base_url=args.base_url, progress=False if args.no_progress else None)
    for line in result.missing_lines():
        print(line)
    print(result.summary())
    result.check()  # files that failed their checks: one error, exit 2
    return 0


def _cmd_init(args: argparse.Namespace) -> int:
    import shlex

    from sa_lib.data.init_parameters import init_parameters

    # The command as the user gave it, for the file's header (their paths, nothing added).
    given = [("--area", args.area), ("--police-uk", args.police_uk), ("--end", args.end),
             ("--months", args.months if args.months != 12 else None),
             ("--partner", args.partner), ("--out", args.out)]
    words = ["sa", "init"] + [w for flag, v in given if v is not None
                              for w in [flag, *(v if isinstance(v, list) else [str(v)])]]
    out = init_parameters(args.area, args.police_uk, end=args.end, months=args.months,
                          partner=args.partner, out=args.out, force=args.force,
                          command=shlex.join(words))
    from sa_lib.paths import PROJECT_ROOT

    shown = out.relative_to(PROJECT_ROOT) if out.is_relative_to(PROJECT_ROOT) else out
    print(f"parameters written to {shown}; build the report with: sa run {shown}")
    print(f"commentary (your words, merged under each section): "
          f"{shown.with_name(shown.stem + '_commentary.md')}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``sa`` (exposed for tests and ``--help``)."""
    parser = argparse.ArgumentParser(
        prog="sa", description="Strategic Assessment Workbook for Community Safety Partnerships.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="build the strategic assessment for a parameters file")
    p.add_argument("parameters", help="e.g. parameters/2025.yaml")
    p.add_argument("--area", action="append", help="area code to build (repeatable; default: "
                   "the parameters file's area), or 'all': every partnership in the police.uk "
                   "files; a batch also writes outputs/index.html")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel notebook runs, or areas at once in a batch (default: cores)")
    p.add_argument("--scheduler", choices=("threads", "dask"), default="threads",
                   help="how a batch of areas is spread: local threads or a dask.distributed "
                   "cluster (optional dependency)")
    p.add_argument("--dask-address", default=None,
                   help="scheduler address of an existing Dask cluster (default: a local one)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-print", action="store_true",
                   help="a quicker draft: skip report.pdf and report.docx")
    p.add_argument("--replace", action="store_true",
                   help="replace a report that a different parameters file built for the same "
                   "area and period (otherwise refused, so a what-if run never overwrites it)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("new-year", help="start next year's parameters file from this year's, "
                       "or (--check) list what next year's file still needs")
    p.add_argument("parameters", help="this year's file (e.g. parameters/2025.yaml), or with "
                   "--check next year's (e.g. parameters/2026.yaml)")
    p.add_argument("--out", help="where to write it (default: parameters/<year+1>.yaml)")
    p.add_argument("--check", action="store_true",
                   help="list what the analyst must still supply for this parameters file (one "
                   "line each); exit 0 when nothing is missing, 1 otherwise")
    p.set_defaults(func=_cmd_new_year)

    p = sub.add_parser("fetch", help="download one force's police.uk street files from the "
                       "data.police.uk monthly archives (only the bytes needed)")
    p.add_argument("--force", required=True, help="the force's police.uk name or display name, "
                   "e.g. leicestershire, kent, \"Metropolitan Police Service\"")
    p.add_argument("--from", dest="first", required=True, metavar="YYYY-MM", help="first month")
    p.add_argument("--to", dest="last", required=True, metavar="YYYY-MM", help="last month")
    p.add_argument("--out", default=None, help="folder for the files (default: "
                   "data/police_uk/<force>), as YYYY-MM/YYYY-MM-<force>-street.csv")
    p.add_argument("--base-url", default=None, help="where the archives are (default: "
                   "$SA_POLICE_UK_URL or https://data.police.uk/data/archive/)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_fetch)

    p = sub.add_parser("init", help="write a first parameters file for a partnership from "
                       "its police.uk street files (and partner returns, if any)")
    p.add_argument("--area", required=True,
                   help="CSP code (E22.../W14...), district code or partnership name")
    p.add_argument("--police-uk", required=True, nargs="+", metavar="DIR",
                   help="folders (or files) of police.uk street files, relative to the project")
    p.add_argument("--end", help="last month of the review window, YYYY-MM (default: the last "
                   "month in the files)")
    p.add_argument("--months", type=int, default=12, help="review window length (default 12)")
    p.add_argument("--partner", metavar="DIR", help="folder of partner returns, MoRiLE sheets "
                   "and action plan (default: none; the file shows how to add them)")
    p.add_argument("--out", help="where to write (default: parameters/<area>_<year>.yaml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser("synth", help="write seeded SYNTHETIC partner data")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--start-year", type=int, default=2021)
    p.add_argument("--end-year", type=int, default=2025)
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("validate", help="check one partner data file against its template")
    p.add_argument("file")
    p.add_argument("--kind", required=True)
    p.set_defaults(func=_cmd_validate)
    return parser


def _stop_on_sigterm(received: list[int]) -> object:
    """Make SIGTERM raise ``KeyboardInterrupt("SIGTERM")`` in the main thread, as Ctrl-C does.

    A run then stops the same way for both (see ``sa_lib.run.runner``); a second
    SIGTERM while it cleans up is ignored.  Returns the handler it replaced.
    """
    def handler(signum: int, frame: object) -> None:
        if received:
            return
        received.append(signum)
        raise KeyboardInterrupt("SIGTERM")

    return signal.signal(signal.SIGTERM, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sa`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    received: list[int] = []
    # Signal handlers can only be set from the main thread (main() may be called from others).
    in_main = threading.current_thread() is threading.main_thread()
    previous = _stop_on_sigterm(received) if in_main else None
    try:
        return func(args)
    except SAError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt as exc:
        signum = received[0] if received else signal.SIGINT
        name = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C (SIGINT)"
        detail = str(exc) if str(exc) not in ("", "SIGTERM") else f"interrupted by {name}"
        print(f"error: {detail}", file=sys.stderr)
        return 128 + int(signum)  # the shell convention: 130 for Ctrl-C, 143 for SIGTERM
    finally:
        if in_main:
            # None: the handler was not set from Python; the default is the closest.
            signal.signal(signal.SIGTERM, previous if previous is not None  # type: ignore[arg-type]
                          else signal.SIG_DFL)


def entry() -> None:
    """The ``sa`` console script: :func:`main`, then exit with its code.

    After Ctrl-C or SIGTERM a notebook thread may still be waiting on a kernel that
    was shut down; the exit does not wait for it (the run has already recorded the
    interruption and removed its staging folder).
    """
    code = main()
    if code >= 128 and any(t.is_alive() and not t.daemon for t in threading.enumerate()
                           if t is not threading.main_thread()):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    entry()
