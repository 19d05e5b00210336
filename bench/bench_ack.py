"""Acknowledgement latency of `/ciw log-activity` through `ciw-bot serve`, beside a bare Bolt app.

Both are served by waitress on loopback (8 threads) in their own processes, talking to a
fake Slack in this process. The same signed requests (N, at C concurrent, keep-alive) go
to each in the same run; the table shows p50, p99, max, errors and the serving process's
resident memory after the load. Goal: ciw-bot's p99 under 2x the bare app's, far under
Slack's 3 s.

Then ciw-bot again while Slack's users.info is slow (each answer 2 s late) and while it
is rate-limited (429, Retry-After 4), every request from someone the bot has not seen
(so the guest check must ask Slack each time). Goal: p99 under 1 s in both.

    python bench/bench_ack.py            # 2,000 requests at 20 concurrent
    python bench/bench_ack.py --quick    # 1,000 requests (CI): enough samples for a steady p99
    DATABASE_URL=postgresql://… python bench/bench_ack.py   # on PostgreSQL (at head)
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.slack.double import FakeSlack, SignedRequests  # noqa: E402

SLOW = "ciw-bot, users.info 2 s late"
LIMITED = "ciw-bot, users.info 429 (4 s)"
SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"

BARE_APP = """
import sys
from slack_bolt import App
from slack_sdk import WebClient
from handlers.slack.server import serve
from slack_bolt.adapter.wsgi import SlackRequestHandler

app = App(client=WebClient(token=sys.argv[3], base_url=sys.argv[4]), signing_secret=sys.argv[2],
          token_verification_enabled=False)
app.command("/ciw")(lambda ack: ack())
handler = SlackRequestHandler(app, path="/slack/events")
serve(lambda environ, start_response: handler(environ, start_response), "127.0.0.1",
      int(sys.argv[1]))
"""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port: int, path: str, process: subprocess.Popen, timeout: float = 60) -> None:
    """Wait until the server answers on `path` (any HTTP answer will do)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load(
    port: int, signer: SignedRequests, total: int, concurrency: int, *, strangers: bool = False
) -> dict:
    """Send `total` signed `/ciw log-activity` requests at `concurrency`; latencies (s).

    `strangers`: each request from a different user (nobody the bot has looked up)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        user = f"U0BENCH{n:02d}"
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            body, headers = signer.command(
                f"log-activity wrexham children 2019-09-24 bench activity {i}",
                user=f"U1NEW{i:06d}" if strangers else user,
            )
            started = time.perf_counter()
            try:
                connection.request("POST", "/slack/events", body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if answer.status != 200:
                        errors.append(str(answer.status))
            except (OSError, http.client.HTTPException) as error:
                with lock:
                    errors.append(type(error).__name__)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "wall": wall}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main() -> int:
    """Run both servers, load both, print the table; non-zero exit on errors or a missed goal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 requests (for CI)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    total = 1000 if args.quick else args.requests

    slack = FakeSlack().start()
    tmp = tempfile.mkdtemp(prefix="bench-ack-")
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/ciw.db"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "DATABASE_URL": database_url,
        "PYTHONPATH": str(ROOT),
    }
    python = sys.executable
    ciw_bot = Path(python).with_name("ciw-bot")
    results = {}
    servers = {
        "bare Bolt app (ack only)": lambda port: [
            python,
            "-c",
            BARE_APP,
            str(port),
            SECRET,
            TOKEN,
            slack.api_url,
        ],
        "ciw-bot serve": lambda port: [
            str(ciw_bot),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
    }
    try:
        for name, command in servers.items():
            port = free_port()
            process = subprocess.Popen(
                command(port),
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait_healthy(port, "/healthz", process)
                signer = SignedRequests(SECRET, slack)
                warm = min(50, total)
                load(port, signer, warm, 5)  # warm-up: imports, pools, users.info
                if name == "ciw-bot serve":
                    slack.wait_for(lambda s, warm=warm: len(s.responses()) >= warm, timeout=120)
                slack.clear()
                outcome = load(port, signer, total, args.concurrency)
                if name == "ciw-bot serve":
                    # The work after the ack: every command answered through its response_url.
                    slack.wait_for(lambda s: len(s.responses()) >= total, timeout=300)
                    outcome["replied"] = len(slack.responses())
                outcome["rss"] = rss_mb(process.pid)
                results[name] = outcome
                if name == "ciw-bot serve":
                    degraded = max(100, total // 5)
                    slack.stall("users.info", 2.0, times=degraded * 2)
                    outcome = load(port, signer, degraded, args.concurrency, strangers=True)
                    outcome["rss"] = rss_mb(process.pid)
                    results[SLOW] = outcome
                    slack.stall("users.info", 0.0, times=0)
                    slack._stalls.clear()
                    slack.fail(
                        "users.info",
                        429,
                        times=degraded * 10,
                        headers={"Retry-After": "4"},
                        body={"ok": False, "error": "ratelimited"},
                    )
                    outcome = load(port, signer, degraded, args.concurrency, strangers=True)
                    outcome["rss"] = rss_mb(process.pid)
                    results[LIMITED] = outcome
            finally:
                process.terminate()
                process.wait(timeout=30)
    finally:
        slack.stop()

    print(
        f"\n/ciw log-activity acknowledgement, {total} signed requests at "
        f"{args.concurrency} concurrent, loopback, waitress 8 threads, "
        f"{database_url.split(':', 1)[0]}\n"
    )
    print(
        f"{'server':32} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>7} "
        f"{'errors':>6} {'RSS MB':>7}"
    )
    for name, r in results.items():
        lat = r["latencies"]
        print(
            f"{name:32} {statistics.median(lat) * 1000:8.1f} "
            f"{percentile(lat, 99) * 1000:8.1f} {max(lat) * 1000:8.1f} "
            f"{len(lat) / r['wall']:7.0f} {len(r['errors']):6d} {r['rss']:7.1f}"
        )
    ours, bare = results["ciw-bot serve"], results["bare Bolt app (ack only)"]
    ratio = percentile(ours["latencies"], 99) / percentile(bare["latencies"], 99)
    print(
        f"\nciw-bot p99 / bare p99 = {ratio:.2f} (goal < 2); replies sent after the ack: "
        f"{ours['replied']}/{total}"
    )
    for name in (SLOW, LIMITED):
        p99 = percentile(results[name]["latencies"], 99)
        print(f"{name}: p99 {p99 * 1000:.0f} ms (goal < 1000 ms)")
    failed = (
        ours["errors"]
        or bare["errors"]
        or percentile(ours["latencies"], 99) >= 3
        or any(percentile(results[n]["latencies"], 99) >= 1 for n in (SLOW, LIMITED))
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
