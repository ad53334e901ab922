"""``honed dashboard RUN_DIR | --storage URL [--host H] [--port P]``: optuna-dashboard on a
study, for a live view while workers run (optional extra ``dashboard``: see honed.install)."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "dashboard", help="open optuna-dashboard on a run's study (the dashboard extra)",
        description="Serve optuna-dashboard on the study of RUN_DIR (study/study.db) or of "
        "--storage URL; it updates live while honed tune or honed worker adds trials.")
    parser.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    parser.add_argument("--storage", metavar="URL", help="study storage, e.g. postgresql://...")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from honed.errors import UserInputError
    from honed.install import install_hint
    from honed.search.show import open_run_study

    if args.run_dir and args.storage:
        raise UserInputError("give a RUN_DIR or --storage URL, not both")
    if not 0 < args.port < 65536:
        raise UserInputError(f"--port must be in 1..65535; got {args.port}")
    study = open_run_study(args.run_dir, storage=args.storage)  # checks it exists first
    url = args.storage or f"sqlite:///{(Path(args.run_dir) / 'study' / 'study.db').resolve()}"
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise UserInputError("honed dashboard needs optuna-dashboard: "
                             f"{install_hint('dashboard')}") from None
    print(f"dashboard: study {study.study_name} at http://{args.host}:{args.port}/ "
          "(Ctrl-C to stop)", flush=True)
    try:
        run_server(url, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass  # the way to stop a server: nothing to save
    except OSError as exc:  # e.g. the port is taken
        raise UserInputError(f"cannot serve on {args.host}:{args.port}: {exc}") from None
    return 0
