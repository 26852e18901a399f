"""``python -m provisioning.emulator [--host H] [--port P]``: run the patched local AWS emulator."""

import argparse

from provisioning.emulator.server import serve


def main() -> None:
    parser = argparse.ArgumentParser(description="Launchpad's local AWS emulator (patched moto server).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
