"""A small HTTP load generator, for machines without wrk: run as its own process.

    python -m bench.load_client PLAN.json [--seconds 10] [--connections 4]

PLAN.json holds {"base": URL, "pairs": [[path, cookie], …]}. Each thread keeps one
keep-alive connection and asks for random pairs until the time is up. Prints one JSON
line: {"requests", "bad" (answers other than 200), "seconds"}.
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from pathlib import Path

import requests


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load_client")
    parser.add_argument("plan", type=Path)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    base, pairs = plan["base"], plan["pairs"]
    counts = [[0, 0] for _ in range(args.connections)]
    started = time.perf_counter()
    until = started + args.seconds

    def load(slot: list[int], seed: int) -> None:
        chooser = random.Random(seed)
        with requests.Session() as http:
            while time.perf_counter() < until:
                path, cookie = chooser.choice(pairs)
                answer = http.get(base + path, headers={"Cookie": cookie}, timeout=60)
                http.cookies.clear()  # the pair's cookie, not the one the last answer set
                slot[0] += 1
                slot[1] += answer.status_code != 200

    threads = [threading.Thread(target=load, args=(slot, seed)) for seed, slot in enumerate(counts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    done = sum(slot[0] for slot in counts)
    print(
        json.dumps({"requests": done, "bad": sum(slot[1] for slot in counts), "seconds": seconds})
    )


if __name__ == "__main__":
    main()
