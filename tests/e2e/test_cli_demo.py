"""`costream demo` as a user runs it: a subprocess against the running stack, through the
gateway and the emulator only, finishing with a recorded room."""

import asyncio
import json
import os
import re
import sys
import uuid


async def _costream(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cli.main", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 90)
    return process.returncode or 0, output.decode()


def _env(e2e_stack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COSTREAM_TOKEN", "AUTH_JWT_SECRET")}
    env.update(COSTREAM_GATEWAY=e2e_stack.addr("gateway"), EMULATOR_URL=e2e_stack.emulator_url)
    return env


async def test_costream_demo_finishes_with_a_recorded_room(e2e_stack):
    code, output = await _costream("demo", env=_env(e2e_stack))
    assert code == 0, output
    assert "room is live" in output
    assert "room is waiting_reconnect" in output
    assert re.search(r"^status: +recorded$", output, re.MULTILINE)
    assert output.rstrip().endswith("is recorded.")


async def test_costream_prints_code_reason_and_message_and_exits_non_zero(e2e_stack):
    code, output = await _costream("--user", "alice", "rooms", "get", "no-such-room",
                                   env=_env(e2e_stack))  # fmt: skip
    assert code == 1
    assert "NOT_FOUND ROOM_NOT_FOUND" in output

    code, output = await _costream("--user", "alice", "rooms", "dismiss", "no-such-room",
                                   env=_env(e2e_stack))  # fmt: skip
    assert code == 1
    assert "PERMISSION_DENIED ADMIN_ONLY" in output


async def test_costream_whoami_with_a_minted_token(e2e_stack):
    code, token = await _costream("token", "zoe", "--admin", env=_env(e2e_stack))
    assert code == 0
    env = {**_env(e2e_stack), "COSTREAM_TOKEN": token.strip()}
    code, output = await _costream("whoami", "--json", env=env)
    assert code == 0, output
    assert '"user_id": "zoe"' in output and '"admin"' in output


async def test_costream_names_a_moderator_who_approves_a_stage_request(e2e_stack):
    env = _env(e2e_stack)
    host, mod, viewer = (f"{n}-{uuid.uuid4().hex[:8]}" for n in ("host", "mod", "viewer"))
    code, output = await _costream("--user", host, "--json", "rooms", "create", "Open mic",
                                   env=env)  # fmt: skip
    assert code == 0, output
    room_id = json.loads(output)["room_id"]
    code, output = await _costream("--user", host, "moderators", "add", room_id, mod, env=env)
    assert code == 0, output
    assert any(line.split() == ["moderators:", mod] for line in output.splitlines())
    code, output = await _costream("--user", viewer, "--json", "stage", "request", room_id,
                                   env=env)  # fmt: skip
    assert code == 0, output
    request_id = json.loads(output)["invitation_id"]
    code, output = await _costream("--user", mod, "stage", "approve", request_id, env=env)
    assert code == 0, output
    assert "accepted" in output
    assert any(line.split() == ["answered", "by:", mod] for line in output.splitlines())
    code, output = await _costream("--user", mod, "moderators", "remove", room_id, mod, env=env)
    assert code == 1
    assert "PERMISSION_DENIED NOT_ROOM_HOST" in output
    code, output = await _costream("--user", host, "stage", "decline", request_id, env=env)
    assert code == 1
    assert "FAILED_PRECONDITION INVITATION_NOT_PENDING" in output


async def test_costream_mutes_a_co_host_and_lists_the_viewers(e2e_stack):
    env = _env(e2e_stack)
    host, co_host, viewer = (f"{n}-{uuid.uuid4().hex[:8]}" for n in ("host", "co", "viewer"))
    code, output = await _costream("--user", host, "--json", "rooms", "create", "Open mic",
                                   env=env)  # fmt: skip
    assert code == 0, output
    room_id = json.loads(output)["room_id"]
    code, output = await _costream("--user", host, "--json", "invite", room_id, co_host,
                                   env=env)  # fmt: skip
    assert code == 0, output
    invitation_id = json.loads(output)["invitation_id"]
    code, output = await _costream("--user", co_host, "invitations", "accept", invitation_id,
                                   env=env)  # fmt: skip
    assert code == 0, output
    code, output = await _costream("--user", host, "mute", room_id, co_host,
                                   "--source", "microphone", env=env)  # fmt: skip
    assert code == 0, output
    assert room_id in output
    code, output = await _costream("--user", host, "mute", room_id, co_host, "--unmute",
                                   env=env)  # fmt: skip
    assert code == 1
    assert "FAILED_PRECONDITION REMOTE_UNMUTE_DISABLED" in output
    code, output = await _costream("--user", host, "viewers", room_id, env=env)
    assert (code, output.strip()) == (0, "(none)")
    code, output = await _costream("--user", viewer, "viewers", room_id, env=env)
    assert code == 1
    assert "PERMISSION_DENIED NOT_ROOM_MODERATOR" in output
