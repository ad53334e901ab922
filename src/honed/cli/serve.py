"""``honed serve BUNDLE [--host 127.0.0.1] [--port 8000] [--token TOKEN] ...``"""

from __future__ import annotations

import argparse


def add_parser(commands) -> None:
    parser = commands.add_parser("serve", help="serve a bundle over HTTP (FastAPI + uvicorn)")
    parser.add_argument("bundle", metavar="BUNDLE", help="bundle folder (e.g. runs/NAME/bundle)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; others need --token)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--token", help="bearer token every request must send (or set "
                        "HONED_SERVE_TOKEN)")
    parser.add_argument("--max-body", type=int, default=1 << 20, metavar="BYTES",
                        help="largest request body (default 1 MiB)")
    parser.add_argument("--max-records", type=int, default=1024,
                        help="most records per request (default 1024)")
    parser.add_argument("--max-text-chars", type=int, default=100_000, metavar="N",
                        help="text models: longest text per column, in characters; longer "
                        "is a 422 (default 100000)")
    parser.add_argument("--max-batch", type=int, default=64,
                        help="most rows per runtime call (default 64; 1 turns batching off)")
    parser.add_argument("--batch-window-ms", type=float, default=0.0,
                        help="how long to wait for more requests before a runtime call "
                        "(default 0: a batch is what queued while the previous call ran)")
    parser.add_argument("--max-queue", type=int, default=2048,
                        help="most rows waiting; beyond it requests get 503 (default 2048)")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                        help="per-request limit; past it the answer is 504 (default 10)")
    parser.add_argument("--body-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time allowed to receive a request body; past it 408 (default 10)")
    parser.add_argument("--header-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="time allowed to send a request's headers; past it the "
                        "connection is closed (default 10)")
    parser.add_argument("--keep-alive", type=float, default=5.0, metavar="SECONDS",
                        help="how long an idle connection stays open between requests "
                        "(default 5)")
    parser.add_argument("--max-connections", type=int, metavar="N",
                        help="most connections open at once; beyond it 503 (default: 1024, "
                        "or fewer to stay under the open-file limit)")
    parser.add_argument("--threads", type=int, help="ONNX Runtime intra-op threads")
    parser.add_argument("--explain", action="store_true",
                        help="also answer POST /v1/explain: occlusion attributions of one "
                        "record (for text, one score per token; off by default)")
    parser.add_argument("--explain-timeout", type=float, default=5.0, metavar="SECONDS",
                        help="per-request limit of /v1/explain; past it 504 (default 5)")
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"],
                        help="HTTP parser (default auto: httptools when installed, else h11)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from honed.errors import UserInputError
    from honed.serve.app import ServeSettings
    from honed.serve.server import serve

    positive = {"--max-body": args.max_body, "--max-records": args.max_records,
                "--max-text-chars": args.max_text_chars,
                "--max-batch": args.max_batch, "--max-queue": args.max_queue,
                "--timeout": args.timeout, "--body-timeout": args.body_timeout,
                "--header-timeout": args.header_timeout, "--keep-alive": args.keep_alive,
                "--max-connections": args.max_connections, "--threads": args.threads,
                "--explain-timeout": args.explain_timeout}
    for flag, value in positive.items():
        if value is not None and value <= 0:
            raise UserInputError(f"{flag} must be positive; got {value}")
    if args.batch_window_ms < 0:
        raise UserInputError(f"--batch-window-ms must be 0 or more; got {args.batch_window_ms}")
    settings = ServeSettings(token=args.token, max_body_bytes=args.max_body,
                             max_records=args.max_records, max_batch=args.max_batch,
                             max_text_chars=args.max_text_chars,
                             window_ms=args.batch_window_ms, max_queue=args.max_queue,
                             timeout_s=args.timeout, body_timeout_s=args.body_timeout,
                             header_timeout_s=args.header_timeout, keep_alive_s=args.keep_alive,
                             max_connections=args.max_connections, explain=args.explain,
                             explain_timeout_s=args.explain_timeout, http=args.http)
    bare = args.host.strip("[]")
    host = f"[{bare}]" if ":" in bare else bare  # an IPv6 address in a URL
    serve(args.bundle, host=args.host, port=args.port, settings=settings,
          threads=args.threads, log_level=args.log_level,
          ready=lambda port: print(f"honed serve: listening on http://{host}:{port} "
                                   f"(docs at /docs)", flush=True))
    return 0
