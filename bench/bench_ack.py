"""Response times of `ciw-bot serve`, Slack and Teams, beside bare apps served the same way.

Every server runs in its own process on loopback, talking to a fake Slack and a fake Teams
cloud (HTTPS, its own CA) in this process; the same requests (N, at C concurrent,
keep-alive) go to each in the same run.

- Slack: signed `/ciw log-activity` commands to `/slack/events`, acknowledgement time.
  `ciw-bot serve` with Slack only and with Slack and Teams (uvicorn: /slack/events on its
  own ASGI route, Bolt's dispatch on 8 threads, `handlers.slack.asgi`, every request
  through `handlers.http_guard`'s limits and counted for /metrics) against a bare Bolt app
  on uvicorn through a2wsgi (8 threads), the way a sync Bolt app is served on uvicorn
  without blocking its loop.
- Teams: message activities ("help") to `/api/messages` with a Bot Connector token the
  fake cloud signed, response time. `ciw-bot serve` with Slack and Teams against a bare
  `microsoft_teams.apps.App` whose on_message does nothing, on the same uvicorn, validating
  the same tokens against the same cloud.
- Memory: the serving process's resident set (VmRSS) after its loads, with both platforms
  loaded, against a bare process that loads both SDKs (the Bolt app and the Teams App, as
  above) and serves both on one uvicorn port, after the same loads.

Targets: ours / bare at most 1.25x at p50 and p99, and in resident memory; acks far under
Slack's 3 s. Then ciw-bot (Slack only) while Slack's users.info
is slow (each answer 2 s late) and rate-limited (429, Retry-After 4), every request from
someone the bot has not seen: p99 under 1 s.

Each database the bot can run on is measured in the same run: SQLite, and PostgreSQL when
`--postgres URL`, CIW_TEST_DATABASE_URL or DATABASE_URL names one (migrated to head first;
the bench's records are written into it). The bare apps use no database: measured once.

    python bench/bench_ack.py            # 2,000 requests per load at 20 concurrent
    python bench/bench_ack.py --quick    # 500 (CI: a p99 of 500 samples, in about a
                                         # minute a database), 25 strangers per degraded
                                         # load (a fifth of the requests without)
    python bench/bench_ack.py --postgres postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.slack.double import FakeSlack, SignedRequests  # noqa: E402
from tests.handlers.teams.double import FakeTeams  # noqa: E402

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
TARGET_RATIO = 1.25
THREADS = 8
DEGRADED_QUICK = 25  # strangers per degraded load with --quick
TEAMS_USERS = 200  # one personal chat each, well inside Teams' per-conversation limits

BARE_BOLT = """
import sys
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

port, secret, token, api_url = sys.argv[1:5]
app = App(client=WebClient(token=token, base_url=api_url), signing_secret=secret,
          token_verification_enabled=False)
app.command("/ciw")(lambda ack: ack())
handler = SlackRequestHandler(app, path="/slack/events")
def wsgi(environ, start_response):
    return handler(environ, start_response)
from a2wsgi import WSGIMiddleware
from handlers.serve import uvicorn_server
uvicorn_server(WSGIMiddleware(wsgi, workers=THREADS), "127.0.0.1", int(port)).run()
""".replace("THREADS", str(THREADS))

BARE_TEAMS = """
import sys
from contextlib import asynccontextmanager
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.apps import App, FastAPIAdapter
from handlers.serve import uvicorn_server

port, app_id, password, tenant, metadata, login = sys.argv[1:7]
adapter = FastAPIAdapter()
app = App(client_id=app_id, client_secret=password, tenant_id=tenant,
          cloud=with_overrides(PUBLIC, openid_metadata_url=metadata, login_endpoint=login),
          http_server_adapter=adapter, dangerously_allow_unauthenticated_requests=False)

@app.on_message
async def on_message(ctx):
    pass

@asynccontextmanager
async def initialise(_):
    await app.initialize()
    yield

adapter.lifespans.append(initialise)
uvicorn_server(adapter.app, "127.0.0.1", int(port)).run()
"""

# Both SDKs in one process on one port, doing nothing of their own: the memory baseline.
BARE_BOTH = """
import sys
from contextlib import asynccontextmanager
from a2wsgi import WSGIMiddleware
from microsoft_teams.api.auth.cloud_environment import PUBLIC, with_overrides
from microsoft_teams.apps import App as TeamsApp, FastAPIAdapter
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from handlers.serve import uvicorn_server

port, secret, token, api_url, app_id, password, tenant, metadata, login = sys.argv[1:10]
bolt = App(client=WebClient(token=token, base_url=api_url), signing_secret=secret,
           token_verification_enabled=False)
bolt.command("/ciw")(lambda ack: ack())
handler = SlackRequestHandler(bolt, path="/slack/events")
adapter = FastAPIAdapter()
app = TeamsApp(client_id=app_id, client_secret=password, tenant_id=tenant,
               cloud=with_overrides(PUBLIC, openid_metadata_url=metadata, login_endpoint=login),
               http_server_adapter=adapter, dangerously_allow_unauthenticated_requests=False)

@app.on_message
async def on_message(ctx):
    pass

@asynccontextmanager
async def initialise(_):
    await app.initialize()
    adapter.app.mount("/", WSGIMiddleware(lambda e, s: handler(e, s), workers=THREADS))
    yield

adapter.lifespans.append(initialise)
uvicorn_server(adapter.app, "127.0.0.1", int(port)).run()
""".replace("THREADS", str(THREADS))


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def server(
    command: Callable[[int], list[str]], env: dict[str, str]
) -> Iterator[tuple[int, subprocess.Popen]]:
    """`command(port)` running, once it answers on /healthz (any HTTP answer will do)."""
    port = free_port()
    with tempfile.TemporaryFile(mode="w+") as log:  # its log, shown if it fails to start
        process = subprocess.Popen(
            command(port), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    tail = log.read()[-2000:]
                    raise SystemExit(f"server exited with {process.returncode}:\n{tail}")
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("server did not start") from None
                    time.sleep(0.1)
            yield port, process
        finally:
            process.terminate()
            # A graceful stop finishes the work already acknowledged (replies to every
            # command of the load): give it time.
            process.wait(timeout=300)


Request = Callable[[int, int], tuple[str, bytes, dict[str, str]]]


def load(port: int, request: Request, total: int, concurrency: int) -> dict:
    """Send `total` requests (`request(i, worker)` gives path, body, headers) at
    `concurrency`, each worker on one keep-alive connection; latencies (s), errors, wall."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def worker(n: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            path, body, headers = request(i, n)
            started = time.perf_counter()
            try:
                connection.request("POST", path, body=body, headers=headers)
                answer = connection.getresponse()
                answer.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not 200 <= answer.status < 300:
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
    return {"latencies": latencies, "errors": errors, "wall": time.perf_counter() - started}


def slack_commands(signer: SignedRequests, *, strangers: str = "") -> Request:
    """Signed `/ciw log-activity` commands; with `strangers` (a run tag), each from someone
    the bot has never seen, so the guest check must ask Slack."""

    def request(i: int, worker: int) -> tuple[str, bytes, dict[str, str]]:
        body, headers = signer.command(
            f"log-activity wrexham children 2019-09-24 bench activity {i}",
            user=f"U1{strangers}{i:06d}" if strangers else f"U0BENCH{worker:02d}",
        )
        return "/slack/events", body, headers

    return request


def teams_messages(cloud: FakeTeams, total: int) -> Request:
    """Message activities ("help") from TEAMS_USERS people in their personal chats, with a
    token the cloud signed (the Bot Connector reuses one for its hour); built beforehand."""
    people = [
        cloud.users.get(f"29:aad-bench-{n}") or cloud.add_user(f"aad-bench-{n}", f"Bench {n}")
        for n in range(TEAMS_USERS)
    ]
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {cloud.inbound_token()}",
    }
    bodies = [
        json.dumps(cloud.message_activity("help", people[i % TEAMS_USERS])).encode()
        for i in range(total)
    ]
    return lambda i, worker: ("/api/messages", bodies[i], headers)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def postgres_url(args: argparse.Namespace) -> str | None:
    """The PostgreSQL database to measure on, if any."""
    if args.postgres:
        return args.postgres
    for name in ("CIW_TEST_DATABASE_URL", "DATABASE_URL"):
        url = os.environ.get(name, "")
        if url.startswith("postgresql"):
            return url
    return None


# The rows of the table and the ratios: (label, server, path) of ours and of the bare app.
SLACK_ONLY = "ciw-bot serve, Slack only"
ONE_PORT = "ciw-bot serve, Slack+Teams"
BARE_BOLT_UVICORN = "bare Bolt app, uvicorn+a2wsgi"
BARE_TEAMS_APP = "bare Teams App, uvicorn"
BOTH_SDKS = "bare Bolt + Teams App, one port"
SLOW = "  users.info 2 s late, strangers"
LIMITED = "  users.info 429 (4 s), strangers"
COMPARISONS = [
    ("Slack ack, Slack only", (SLACK_ONLY, "/slack/events"), (BARE_BOLT_UVICORN, "/slack/events")),
    ("Slack ack, one port", (ONE_PORT, "/slack/events"), (BARE_BOLT_UVICORN, "/slack/events")),
    (
        "Teams /api/messages, one port",
        (ONE_PORT, "/api/messages"),
        (BARE_TEAMS_APP, "/api/messages"),
    ),
]


def main() -> int:
    """Run every server, load each, print the tables; non-zero on errors or a missed SLO."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="500 requests per load (for CI)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL")
    args = parser.parse_args()
    total = 500 if args.quick else args.requests
    concurrency = args.concurrency
    python = sys.executable

    tmp = tempfile.mkdtemp(prefix="bench-ack-")
    databases = {"sqlite": f"sqlite:///{tmp}/ciw.db"}
    if url := postgres_url(args):
        databases["postgresql"] = url
    run_tag = uuid.uuid4().hex[:6].upper()  # strangers stay strangers on a reused database

    slack = FakeSlack().start()
    cloud = FakeTeams(tls=True).start()
    assert cloud.ca_file
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEAMS_"))}
    base.update(PYTHONPATH=str(ROOT), SSL_CERT_FILE=cloud.ca_file, REQUESTS_CA_BUNDLE=cloud.ca_file)
    slack_env = {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
    }
    teams_env = {
        "TEAMS_APP_ID": cloud.app_id,
        "TEAMS_APP_PASSWORD": cloud.app_password,
        "TEAMS_TENANT_ID": cloud.tenant_id,
        "TEAMS_OPENID_METADATA_URL": cloud.openid_metadata_url,
        "TEAMS_LOGIN_URL": cloud.login_url,
    }
    signer = SignedRequests(SECRET, slack)
    rows: list[dict] = []

    def measure(database: str, name: str, port: int, request: Request, ours: bool) -> dict:
        path = request(0, 0)[0]
        replied = ours and path == "/slack/events"
        warm = min(50, total)
        load(port, request, warm, 5)  # imports, pools, signing keys, users.info
        if replied:
            slack.wait_for(lambda s: len(s.responses()) >= warm, timeout=120)
        slack.clear()
        outcome = load(port, request, total, concurrency)
        if replied:
            # The work after the ack: every command answered through its response_url.
            slack.wait_for(lambda s: len(s.responses()) >= total, timeout=300)
            outcome["replied"] = len(slack.responses())
        row = {"database": database, "server": name, "path": path, **outcome}
        rows.append(row)
        return row

    def bare(script: str, *argv: str) -> Callable[[int], list[str]]:
        return lambda port: [python, "-c", script, str(port), *argv]

    def ciw_bot(port: int) -> list[str]:
        return [python, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]

    started = time.monotonic()
    try:
        slack_argv = (SECRET, TOKEN, slack.api_url)
        with server(bare(BARE_BOLT, *slack_argv), base) as (port, p):
            row = measure("-", BARE_BOLT_UVICORN, port, slack_commands(signer), ours=False)
            row["rss"] = rss_mb(p.pid)
        teams_argv = (cloud.app_id, cloud.app_password, cloud.tenant_id)
        teams_argv += (cloud.openid_metadata_url, cloud.login_url)
        with server(bare(BARE_TEAMS, *teams_argv), base) as (port, p):
            row = measure("-", BARE_TEAMS_APP, port, teams_messages(cloud, total), ours=False)
            row["rss"] = rss_mb(p.pid)
        with server(bare(BARE_BOTH, *slack_argv, *teams_argv), base) as (port, p):
            measure("-", BOTH_SDKS, port, slack_commands(signer), ours=False)
            measure("-", BOTH_SDKS, port, teams_messages(cloud, total), ours=False)
            rows[-1]["rss"] = rows[-2]["rss"] = rss_mb(p.pid)

        for database, url in databases.items():
            env = {**base, "DATABASE_URL": url}
            upgraded = subprocess.run(
                [python, "-m", "bot.cli", "db", "upgrade"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if upgraded.returncode != 0:
                raise SystemExit(f"ciw-bot db upgrade on {database}: {upgraded.stderr.strip()}")

            with server(ciw_bot, {**env, **slack_env}) as (port, p):
                row = measure(database, SLACK_ONLY, port, slack_commands(signer), ours=True)
                row["rss"] = rss_mb(p.pid)
                # Each stranger costs two users.info calls (the ack's, the work's), which
                # Slack allows 100 a minute after a burst of 100: the work after these acks
                # drains at that pace when the server stops (3 minutes for 2 x 200).
                # --quick keeps within the burst.
                degraded = DEGRADED_QUICK if args.quick else max(100, total // 5)
                slack.stall("users.info", 2.0, times=degraded * 2)
                strangers = slack_commands(signer, strangers=f"S{run_tag}")
                outcome = load(port, strangers, degraded, concurrency)
                rows.append(
                    {"database": database, "server": SLOW, "path": "/slack/events", **outcome}
                )
                slack._stalls.clear()
                slack.fail(
                    "users.info",
                    429,
                    times=degraded * 10,
                    headers={"Retry-After": "4"},
                    body={"ok": False, "error": "ratelimited"},
                )
                strangers = slack_commands(signer, strangers=f"L{run_tag}")
                outcome = load(port, strangers, degraded, concurrency)
                rows.append(
                    {"database": database, "server": LIMITED, "path": "/slack/events", **outcome}
                )
                slack.recover("users.info")
                rows[-1]["rss"] = rows[-2]["rss"] = rss_mb(p.pid)

            with server(ciw_bot, {**env, **slack_env, **teams_env}) as (port, p):
                measure(database, ONE_PORT, port, slack_commands(signer), ours=True)
                measure(database, ONE_PORT, port, teams_messages(cloud, total), ours=True)
                rows[-1]["rss"] = rows[-2]["rss"] = rss_mb(p.pid)
    finally:
        slack.stop()
        refused = list(cloud.refusals)
        cloud.stop()
    return report(rows, list(databases), total, concurrency, refused, time.monotonic() - started)


def report(
    rows: list[dict],
    databases: list[str],
    total: int,
    concurrency: int,
    refused: list,
    took: float,
) -> int:
    """Print the tables; the exit status (1 on errors or a missed absolute goal)."""

    def find(database: str, server: str, path: str) -> dict:
        return next(
            r
            for r in rows
            if r["server"] == server and r["path"] == path and r["database"] in {database, "-"}
        )

    print(
        f"\nResponse times, {total} requests per load at {concurrency} concurrent, keep-alive, "
        f"loopback, {THREADS} WSGI threads; Slack: signed /ciw log-activity (the ack), "
        f'Teams: a "help" message activity with a signed Bot Connector token\n'
    )
    print(
        f"{'db':10} {'server':38} {'path':14} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} "
        f"{'req/s':>6} {'errors':>6} {'RSS MB':>7}"
    )
    for r in rows:
        lat = r["latencies"]
        print(
            f"{r['database']:10} {r['server']:38} {r['path']:14} "
            f"{statistics.median(lat) * 1000:7.1f} {percentile(lat, 99) * 1000:7.1f} "
            f"{max(lat) * 1000:7.1f} {len(lat) / r['wall']:6.0f} {len(r['errors']):6d} "
            f"{r.get('rss', float('nan')):7.1f}"
        )

    print(f"\nours / bare (target at most {TARGET_RATIO}x)\n")
    print(f"{'db':10} {'comparison':32} {'p50':>6} {'p99':>6}  ")
    for database in databases:
        for label, ours_key, bare_key in COMPARISONS:
            ours, bare = find(database, *ours_key), find(database, *bare_key)
            ratios = [
                percentile(ours["latencies"], p) / percentile(bare["latencies"], p)
                for p in (50, 99)
            ]
            verdict = "met" if max(ratios) <= TARGET_RATIO else "MISSED"
            print(f"{database:10} {label:32} {ratios[0]:5.2f}x {ratios[1]:5.2f}x  {verdict}")
    print()
    failed = False
    baseline = find("-", BOTH_SDKS, "/api/messages")["rss"]
    for database in databases:
        one_port = find(database, ONE_PORT, "/api/messages")
        ratio = one_port["rss"] / baseline
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(
            f"{database}: resident memory of ciw-bot serve with Slack and Teams, after both "
            f"loads: {one_port['rss']:.1f} MB, {ratio:.2f}x the bare process with both SDKs "
            f"({baseline:.1f} MB; target at most {TARGET_RATIO}x): {verdict}"
        )
        for key in ((SLACK_ONLY, "/slack/events"), (ONE_PORT, "/slack/events")):
            r = find(database, *key)
            print(f"{database}: {key[0]}: replies sent after the ack {r['replied']}/{total}")
            failed |= percentile(r["latencies"], 99) >= 3
        for name in (SLOW, LIMITED):
            p99 = percentile(find(database, name, "/slack/events")["latencies"], 99)
            print(f"{database}: ciw-bot, {name.strip()}: p99 {p99 * 1000:.0f} ms (goal < 1000 ms)")
            failed |= p99 >= 1
    if refused:
        print(f"\nthe fake Teams cloud refused {len(refused)} calls, e.g. {refused[0]}")
    errors = sum(len(r["errors"]) for r in rows)
    print(f"\n{errors} errors in all; {took:.0f} s")
    return 1 if failed or errors or refused else 0


if __name__ == "__main__":
    sys.exit(main())
