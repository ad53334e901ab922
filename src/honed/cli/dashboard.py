"""``honed dashboard RUN_DIR | --storage URL [--host H] [--port P] [--token T]
[--allow-writes]``: optuna-dashboard on a study, for a live view while workers run (optional
extra ``dashboard``: see honed.install), behind honed's guard (:mod:`honed.report.dashboard`)."""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "dashboard", help="open optuna-dashboard on a run's study (the dashboard extra)",
        description="Serve optuna-dashboard on the study of RUN_DIR (study/study.db) or of "
        "--storage URL; it updates live while honed tune or honed worker adds trials. It is "
        "read-only unless --allow-writes.")
    parser.add_argument("run_dir", metavar="RUN_DIR", nargs="?")
    parser.add_argument("--storage", metavar="URL", help="study storage, e.g. postgresql://...")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; others need --token)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on")
    parser.add_argument("--token", help="token every request must present (or set "
                        "HONED_DASHBOARD_TOKEN); a browser opens /?token=TOKEN once")
    parser.add_argument("--allow-writes", action="store_true",
                        help="let the dashboard change the study (notes, renames, deletes)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from honed.errors import UserInputError
    from honed.report.dashboard import TOKEN_ENV, dashboard_server
    from honed.search.show import open_run_study

    if args.run_dir and args.storage:
        raise UserInputError("give a RUN_DIR or --storage URL, not both")
    if not 0 < args.port < 65536:
        raise UserInputError(f"--port must be in 1..65535; got {args.port}")
    token = args.token or os.environ.get(TOKEN_ENV) or None
    study = open_run_study(args.run_dir, storage=args.storage)  # checks it exists first
    url = args.storage or f"sqlite:///{(Path(args.run_dir) / 'study' / 'study.db').resolve()}"
    server = dashboard_server(url, host=args.host, port=args.port, token=token,
                              allow_writes=args.allow_writes)
    guard = "token required: open /?token=TOKEN once" if token else "no token"
    mode = "read-write" if args.allow_writes else "read-only"
    bare = args.host.strip("[]")
    shown = f"[{bare}]" if ":" in bare else bare  # an IPv6 address in a URL
    print(f"dashboard: study {study.study_name} at http://{shown}:{server.server_port}/ "
          f"({guard}; {mode}; Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass  # the way to stop a server: nothing to save
    finally:
        server.server_close()
    return 0
