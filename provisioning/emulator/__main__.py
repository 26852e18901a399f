"""``python -m provisioning.emulator [--host H] [--port P] [--state FILE [--save-interval S]]``: run the patched
local AWS emulator; with ``--state`` its AWS state is kept in FILE, encrypted with LAUNCHPAD_EMULATOR_STATE_KEY."""

import argparse
import logging
import os
import sys
from pathlib import Path

from provisioning.emulator.server import EmulatorError, serve
from provisioning.emulator.state_file import STATE_KEY_VARIABLE, StateKeyError, fernet


def main() -> None:
    parser = argparse.ArgumentParser(description="Launchpad's local AWS emulator (patched moto server).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help=f"keep the AWS state in FILE across restarts (encrypted with the Fernet key in {STATE_KEY_VARIABLE})",
    )
    parser.add_argument(
        "--save-interval",
        type=float,
        metavar="SECONDS",
        help="save a change at most this many seconds after it happened (default 5)",
    )
    args = parser.parse_args()
    if args.state is None and args.save_interval is not None:
        parser.error("--save-interval needs --state")
    if args.save_interval is not None and args.save_interval <= 0:
        parser.error("--save-interval must be a positive number of seconds")
    if args.state is not None:
        if args.state.exists() and not args.state.is_file():
            parser.error(f"--state {args.state} is not a file")
        try:
            fernet(os.environ.get(STATE_KEY_VARIABLE))
        except StateKeyError as error:
            parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        serve(args.host, args.port, state_file=args.state, save_interval=args.save_interval)
    except EmulatorError as error:
        sys.exit(str(error))


if __name__ == "__main__":
    main()
