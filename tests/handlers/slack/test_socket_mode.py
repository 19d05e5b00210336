"""`ciw-bot socket`: Slack's Socket Mode, played by a WebSocket server on loopback."""

import json
import os
import queue
import subprocess
import sys
import threading

import pytest
from websockets.sync.server import serve


@pytest.fixture
def socket_mode(slack):
    """A Socket Mode endpoint: says hello, then sends what the test queues; records acks."""
    outgoing: queue.Queue = queue.Queue()
    acks: queue.Queue = queue.Queue()

    def session(websocket):
        websocket.send(json.dumps({"type": "hello", "num_connections": 1}))
        while True:
            envelope = outgoing.get()
            if envelope is None:
                return
            websocket.send(json.dumps(envelope))
            while True:
                message = json.loads(websocket.recv())
                if message.get("envelope_id") == envelope["envelope_id"]:
                    acks.put(message)
                    break

    server = serve(session, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    slack.socket_mode_url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/link"
    yield outgoing, acks
    outgoing.put(None)
    server.shutdown()


def test_slash_command_over_socket_mode_is_acked_and_answered(slack, socket_mode, tmp_path):
    outgoing, acks = socket_mode
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CIW_"))}
    env.update(
        SLACK_BOT_TOKEN="xoxb-socket",
        SLACK_APP_TOKEN="xapp-1-socket",
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'socket.db'}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "socket"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        outgoing.put(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": "T0CIW",
                    "channel_id": "G0REVIEW",
                    "channel_name": "inspections",
                    "user_id": "U0INSPECT",
                    "command": "/ciw",
                    "text": "log-activity wrexham adults 2019-04-10 performance review meeting",
                    "response_url": slack.response_url("socket"),
                    "trigger_id": "1.socket",
                    "api_app_id": "A0CIWBOT",
                },
            }
        )
        ack = acks.get(timeout=30)
        assert ack["envelope_id"] == "env-1"
        reply = slack.wait_for(lambda s: s.responses(), timeout=30)[0]
        assert "performance review meeting, 10 April 2019" in reply.get("text")
        assert slack.of("apps.connections.open"), "the app token opened the connection"
    finally:
        process.terminate()
        process.wait(timeout=10)
