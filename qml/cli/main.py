"""Entry point of the ``qml`` console script."""

from __future__ import annotations

import argparse
import os
import sys

from qml.errors import QmlError


class Parser(argparse.ArgumentParser):
    """Every ``qml`` parser: no prefix matching of long options, so a misspelt or unknown flag (``--data`` for
    ``--data-dir``) is an error, never another flag. Sub-command parsers are made of their parent's class, so
    the whole tree inherits this."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


def build_parser() -> argparse.ArgumentParser:
    from qml import __version__
    from qml.cli import evaluate, ibm, noise, passes, prune, search, study, train

    parser = Parser(prog="qml", description="Noise-robust quantum machine learning.")
    parser.add_argument("--version", action="version", version=f"qml {__version__}")
    parser.add_argument("--threads", metavar="auto|N",
                        help="torch threads of every simulation: auto (default, or QML_THREADS; one thread for "
                             "small states, which lose to threads on shared cores) or N")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    train.register(sub)
    evaluate.register(sub)
    prune.register(sub)
    search.register(sub)
    study.register(sub)
    ibm.register(sub)
    noise.register(sub)
    passes.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        if args.threads is not None or os.environ.get("QML_THREADS") is not None:  # else "auto", nothing to check
            from qml.sim.threads import get_threads, set_threads  # (imports torch, which a command may not need)

            if args.threads is not None:
                set_threads(args.threads)
                os.environ["QML_THREADS"] = str(args.threads)  # and any process this one starts
            get_threads()  # a bad QML_THREADS is one line, before any work
        return args.handler(args) or 0
    except QmlError as exc:
        print(f"qml: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a filesystem error the code did not foresee is still one line, never a traceback
        from qml.files import describe_os_error

        print(f"qml: error: {describe_os_error(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("qml: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `qml noise show X | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
