#!/usr/bin/env python3
"""Membership churn for bench/scaling.sh: every --interval seconds, through the proxy's admin API, the server removed at
the tick before is added back (POST /add) and another one, at random, is removed (DELETE /rm), until SIGTERM; then the
last one removed is added back, so the next run starts with every server in the ring.

Writes one JSON line per admin call to --out: {"t": seconds since start, "op": "rm"|"add", "server", "status", "ms"},
with the answer's body when it was not 200. The calls go over one keep-alive connection, each timed from its send to
its whole answer (the proxy rebuilds and swaps its table inside the call).
"""
import argparse
import http.client
import json
import random
import signal
import sys
import time
import urllib.parse


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="the proxy, http://127.0.0.1:PORT")
    parser.add_argument("--key", required=True, help="the admin key (Admin:ApiKey)")
    parser.add_argument("--servers", type=int, required=True, help="ring names server1 .. serverN")
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    address = urllib.parse.urlsplit(args.url)
    names = [f"server{i}" for i in range(1, args.servers + 1)]
    rng = random.Random(args.seed)
    headers = {"Authorization": f"Bearer {args.key}", "Content-Type": "application/json"}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    start = time.monotonic()

    def call(out, op: str, server: str) -> None:
        nonlocal connection
        body = json.dumps({"n": 1, "hostnames": [server]})
        sent = time.monotonic()
        try:
            connection.request("DELETE" if op == "rm" else "POST", f"/{op}", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            # A broken connection is recorded and a new one opened; the call is not retried.
            answer, status = str(error).encode(), 0
            connection.close()
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        done = time.monotonic()
        record = {"t": round(sent - start, 4), "op": op, "server": server, "status": status, "ms": round((done - sent) * 1000, 3)}
        if status != 200:
            record["body"] = answer.decode(errors="replace")[:300]
        out.write(json.dumps(record) + "\n")
        out.flush()

    removed = None
    tick = 0
    with open(args.out, "w", encoding="utf-8") as out:
        while not stopping:
            if removed is not None:
                call(out, "add", removed)
            removed = rng.choice(names)
            call(out, "rm", removed)
            tick += 1
            # The next tick is due on the clock, whatever this one took (a slow call is not made up by a burst).
            wait = start + tick * args.interval - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        if removed is not None:
            call(out, "add", removed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
