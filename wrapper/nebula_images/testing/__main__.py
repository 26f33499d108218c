"""``python -m nebula_images.testing``: serve the mock API until Ctrl-C (``make mock``)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence

from ._config import TIER_ALIASES, TIERS, canonical_tier, tier_choices

_DESCRIPTION = """\
Serve the nebula-images mock API (the spec's two operations under --base-path, with
real PNGs, a billing ledger and fault injection on /_mock/...).

Auth: by default any key that starts with "ak_" is accepted (the vendor's key
prefix); --keys K1 K2 accepts exactly those keys. The control path /_mock/...
(faults, ledger, config, reset, stats) needs no key and answers loopback clients only.

Rate limits (default off) count per key and answer 429 with Retry-After. Both
windows slide: a request counts for the 60 s, or the 24 h, after it was accepted
(not a calendar day). --tier sets the vendor's account tier's limits:
{tiers}
--rate-limit and --rate-limit-per-day override the tier's value.
"""


def _tier_lines() -> str:
    return "\n".join(f"  {line}" for line in tier_choices().splitlines())


def _tier(value: str) -> str | None:
    """argparse type of --tier: the canonical tier name ("none" for no limits)."""
    if value.strip().lower() == "none":
        return None
    try:
        return canonical_tier(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("tier: ")) from None


def build_parser() -> argparse.ArgumentParser:
    """The command line of the mock server."""
    parser = argparse.ArgumentParser(
        prog="python -m nebula_images.testing",
        description=_DESCRIPTION.format(tiers=_tier_lines()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "8080")),
        help="TCP port (default: $PORT or 8080; 0 picks a free one)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--base-path", default="/api/v1", help="API base path (default /api/v1)")
    parser.add_argument(
        "--inference-time-factor",
        type=float,
        default=0.0,
        help="scale the simulated per-model inference time (1 = real speed; default 0)",
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=None,
        help="fixed seconds per generation, overriding the per-model time (benchmarks)",
    )
    parser.add_argument(
        "--tier",
        type=_tier,
        default=None,
        metavar="NAME",
        help=f"account tier: {', '.join([*TIERS, *TIER_ALIASES])} (limits above; default none)",
    )
    parser.add_argument(
        "--rate-limit",
        "--rate-limit-per-minute",
        dest="rate_limit",
        type=int,
        default=None,
        metavar="N",
        help="requests per minute per key, over the tier's (default: the tier's, else off)",
    )
    parser.add_argument(
        "--rate-limit-per-day",
        type=int,
        default=None,
        metavar="N",
        help="requests per sliding 24 h per key, over the tier's (default: the tier's, else off)",
    )
    parser.add_argument(
        "--keys",
        nargs="+",
        default=None,
        metavar="KEY",
        help='accept exactly these API keys (default: any key starting with "ak_")',
    )
    parser.add_argument(
        "--no-validate",
        action="store_true",
        help="skip schema validation of request bodies (unreadable bodies still get 400)",
    )
    parser.add_argument(
        "--ignore-idempotency-key",
        action="store_true",
        help="bill every request that runs, as a server that ignores Idempotency-Key would "
        "(the vendor documents no such header)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the mock in the foreground; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        from ._config import MockConfig, is_loopback_host  # stdlib only, like TIERS above
        from ._server import MockServer, MockServerError
    except ImportError as exc:
        print(f"the mock needs the mock extra: pip install 'nebula-images[mock]' ({exc})")
        return 2
    if not is_loopback_host(args.host):
        print(
            f"warning: serving on {args.host}, reachable from other machines; "
            "the /_mock control path still answers loopback clients only",
            file=sys.stderr,
        )
    try:
        config = MockConfig(
            host=args.host,
            port=args.port,
            base_path=args.base_path,
            api_keys=frozenset(args.keys) if args.keys else None,
            inference_time_factor=args.inference_time_factor,
            latency_seconds=args.latency,
            tier=args.tier,
            rate_limit_per_minute=args.rate_limit,
            rate_limit_per_day=args.rate_limit_per_day,
            validate=not args.no_validate,
            ignore_idempotency_key=args.ignore_idempotency_key,
        )
        server = MockServer(config).start()
    except (ValueError, MockServerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    accepted = "any key starting with ak_" if args.keys is None else f"{len(args.keys)} key(s)"
    print(f"nebula-images mock serving {server.base_url}", flush=True)
    # With --keys the banner names no key: those are the user's secrets.
    example_key = server.api_key if args.keys is None else "<one of your --keys>"
    print(f"  accepts: {accepted}; example key: {example_key}")
    print(f"  try: curl -X POST {server.base_url}/images/generation \\")
    print(
        f"         -H 'Authorization: Bearer {example_key}' -H 'Content-Type: application/json' \\"
    )
    print('         -d \'{"model_name": "black-forest-labs/FLUX.1-schnell", "prompt": "a fox"}\'')
    limits = server.config.rate_limits
    if limits.per_minute is not None or limits.per_day is not None:
        tier = f" ({server.config.tier})" if server.config.tier else ""
        print(f"  rate limits per key{tier}: {limits.describe()}")
    print(f"  control: {server.url}/_mock/stats (faults, ledger, config, reset); Ctrl-C stops")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
