"""python -m tests.support.fake_upstream --port N --api-key K [--step-seconds S] [--webhook-url U
--webhook-secret whsec_...]: serve until killed, after printing `READY <base_url>`."""

import argparse
import asyncio
import contextlib

from .upstream import FakeUpstream


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.fake_upstream", argument_default=argparse.SUPPRESS
    )
    parser.add_argument("--port", type=int, help="0 (the default) picks a free port")
    parser.add_argument("--api-key")
    parser.add_argument("--step-seconds", type=float)
    parser.add_argument("--validate-seconds", type=float)
    parser.add_argument("--queue-seconds", type=float)
    parser.add_argument("--org-slug")
    parser.add_argument("--webhook-url")
    parser.add_argument("--webhook-secret")
    upstream = FakeUpstream(**vars(parser.parse_args()))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(upstream.serve(lambda: print(f"READY {upstream.base_url}", flush=True)))


if __name__ == "__main__":
    main()
