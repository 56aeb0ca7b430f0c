"""A class on JupyterHub, on loopback: release, fetch, submit, collect, grade.

JupyterHub runs deploy/jupyterhub_config.py in test mode (DummyAuthenticator,
SimpleLocalProcessSpawner, the Python configurable-http-proxy) on random free ports
of 127.0.0.1. The instructor releases chapter 1 to the exchange (`hub release`); ada
and bob get servers through the hub's REST API and, each with a token of their own,
fetch the chapter and submit it through nbgrader's assignment list on their server
(ada after writing the solution over her copy through the contents API, bob as
fetched); the instructor collects (`hub collect`) and grades the collected folder
with this course's pipeline. Everything started is stopped at the end, even on failure.

Run by `make test-hub` (which .ci/run calls after `make test`); skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHAPTER = "01_neural_network_basics"
COURSE_ID = "backprop-lab"
STUDENTS = ("ada", "bob")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("BACKPROP_LAB_HUB_TEST"),
                       reason="starts a JupyterHub: run by `make test-hub` (after `make test` in .ci/run)"),
]

requests = pytest.importorskip("requests")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, check, timeout: float, hub: subprocess.Popen, log: Path):
    """Poll ``check()`` until it returns something truthy; fail with the hub's log after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.poll() is not None:
            pytest.fail(f"the hub exited ({hub.returncode}) while waiting for {what}:\n"
                        f"{log.read_text()[-4000:]}")
        try:
            value = check()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{log.read_text()[-4000:]}")


def processes_under(marker: str) -> list[int]:
    """Our processes whose command line or environment names ``marker`` (a fresh temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker.encode() in text:
            found.append(int(entry.name))
    return found


def stop(hub: subprocess.Popen, marker: str) -> None:
    """SIGTERM the hub (it stops the servers and the proxy), then kill whatever is left."""
    if hub.poll() is None:
        hub.send_signal(signal.SIGTERM)
        try:
            hub.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
    for pid in processes_under(marker):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if hub.poll() is None:
        hub.kill()
        hub.wait(timeout=10)


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], cwd=REPO, text=True, capture_output=True,
                            timeout=timeout)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


class Hub:
    def __init__(self, url: str, token: str):
        self.url, self.token = url.rstrip("/"), token

    def api(self, method: str, path: str, token: str | None = None, **kwargs):
        response = requests.request(method, f"{self.url}/hub/api{path}", timeout=30,
                                    headers={"Authorization": f"token {token or self.token}"}, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.text else None

    def server(self, user: str, token: str, method: str, path: str, **kwargs):
        response = requests.request(method, f"{self.url}/user/{user}/{path}", timeout=60,
                                    headers={"Authorization": f"token {token}"}, **kwargs)
        assert response.status_code < 400, (
            f"{user}: {method} {path}: {response.status_code} {response.text[:2000]}")
        return response.json() if response.text else None


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hub")
    exchange, course_dir, state = tmp / "exchange", tmp / "course", tmp / "state"
    started = time.monotonic()
    seconds = {}

    # The instructor releases chapter 1 to the exchange, while the hub starts.
    releasing = subprocess.Popen(
        [sys.executable, "-m", "autograder.instructor.classroom.hub", "release", "1",
         "--exchange", str(exchange),
         "--course-dir", str(course_dir)],
        cwd=REPO, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, BACKPROP_HUB_MODE="test", BACKPROP_HUB_EXCHANGE=str(exchange),
               BACKPROP_HUB_STATE=str(state), BACKPROP_HUB_HOMES=str(tmp / "home"),
               BACKPROP_HUB_IP="127.0.0.1", BACKPROP_HUB_PORT=str(port),
               BACKPROP_HUB_HUB_PORT=str(free_port()), BACKPROP_HUB_PROXY_API_PORT=str(free_port()),
               BACKPROP_HUB_ADMIN_TOKEN=token)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log = tmp / "jupyterhub.log"
    state.mkdir()
    with open(log, "w") as handle:
        hub_process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(REPO / "deploy" / "jupyterhub_config.py")],
            cwd=state, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", token)
    fetched = {}
    try:
        wait_for("the hub's API", lambda: requests.get(f"{hub.url}/hub/api/", timeout=5).ok, 90,
                 hub_process, log)
        hub.api("POST", "/users", json={"usernames": list(STUDENTS)})
        tokens = {}
        for user in STUDENTS:
            hub.api("POST", f"/users/{user}/server")
            tokens[user] = hub.api("POST", f"/users/{user}/tokens", json={"note": "test"})["token"]
        for user in STUDENTS:
            wait_for(f"{user}'s server", lambda u=user: hub.api("GET", f"/users/{u}")["servers"]
                     .get("", {}).get("ready"), 120, hub_process, log)
        seconds["hub and servers up"] = time.monotonic() - started
        output, _ = releasing.communicate(timeout=300)
        assert releasing.returncode == 0, f"hub release failed:\n{output}"
        assert (exchange / COURSE_ID / "outbound" / CHAPTER / f"{CHAPTER}.ipynb").is_file()
        seconds["released"] = time.monotonic() - started
        form = {"course_id": COURSE_ID, "assignment_id": CHAPTER}
        solution = json.loads((REPO / "solutions" / CHAPTER / f"{CHAPTER}.ipynb").read_text())
        for user in STUDENTS:
            token_ = tokens[user]
            listing = hub.server(user, token_, "POST", "assignments/fetch", data=form)
            fetched[user] = listing
            path = f"api/contents/{CHAPTER}/{CHAPTER}.ipynb"
            model = hub.server(user, token_, "GET", path)
            assert model["type"] == "notebook"
            if user == "ada":
                hub.server(user, token_, "PUT", path,
                           json={"type": "notebook", "format": "json", "content": solution})
            result = hub.server(user, token_, "POST", "assignments/submit", data=form)
            assert result["success"], result
        # The formgrader, an instructor's tool, is off on students' servers.
        formgrader = requests.get(f"{hub.url}/user/ada/formgrader", timeout=30,
                                  headers={"Authorization": f"token {tokens['ada']}"})
        homes = {user: tmp / "home" / user for user in STUDENTS}
    finally:
        if releasing.poll() is None:
            os.killpg(releasing.pid, signal.SIGKILL)
            releasing.wait()
        stop(hub_process, str(tmp))
    seconds["fetched, submitted, hub stopped"] = time.monotonic() - started

    # The instructor collects and grades with this course's pipeline.
    collected = run("-m", "autograder.instructor.classroom.hub", "collect", CHAPTER,
                    "--exchange", str(exchange),
                    "--course-dir", str(course_dir)).stdout
    grading = tmp / "grading"
    run("-m", "autograder.instructor.grading.coordinator", str(course_dir / "submitted"),
        "--out", str(grading),
        "--no-progress", "--workers", "1", "--no-feedback", timeout=600)
    seconds["collected and graded"] = time.monotonic() - started
    records = {user: json.loads((grading / "records" / CHAPTER / f"{user}.json").read_text())
               for user in STUDENTS}
    return {"tmp": tmp, "exchange": exchange, "course_dir": course_dir, "records": records,
            "fetched": fetched, "homes": homes, "collected": collected, "formgrader": formgrader,
            "seconds": seconds}


def test_each_student_fetched_the_released_chapter_into_their_own_home(graded):
    released = (REPO / "chapters" / CHAPTER / f"{CHAPTER}.ipynb").read_bytes()
    for user in STUDENTS:
        listing = graded["fetched"][user]
        assert listing["success"], listing
        statuses = {(a["assignment_id"], a["status"]) for a in listing["value"]}
        assert (CHAPTER, "fetched") in statuses, listing
        assert (graded["homes"][user] / CHAPTER / f"{CHAPTER}.ipynb").is_file()
    assert (graded["homes"]["bob"] / CHAPTER / f"{CHAPTER}.ipynb").read_bytes() == released


def test_submissions_carry_each_hub_users_name(graded):
    inbound = sorted(p.name.split("+")[0] for p in (graded["exchange"] / COURSE_ID / "inbound").iterdir())
    assert inbound == list(STUDENTS)
    submitted = graded["course_dir"] / "submitted"
    for user in STUDENTS:
        assert (submitted / user / CHAPTER / f"{CHAPTER}.ipynb").is_file(), graded["collected"]
    assert "2 submissions from 2 students" in graded["collected"]


def test_the_pipeline_gives_ada_full_marks_and_bob_zero(graded):
    ada, bob = graded["records"]["ada"], graded["records"]["bob"]
    assert ada["status"] == "graded" and bob["status"] == "graded", (ada, bob)
    assert ada["tests"] and all(t["score"] == t["points"] > 0 for t in ada["tests"].values()), ada["tests"]
    assert all(t["score"] == 0 for t in bob["tests"].values()), bob["tests"]
    assert set(ada["tests"]) == set(bob["tests"])


def test_students_servers_have_no_formgrader(graded):
    assert graded["formgrader"].status_code == 404


def test_nothing_outlives_the_test(graded):
    assert processes_under(str(graded["tmp"])) == []
    print("\nseconds since the start: " + ", ".join(f"{k} {v:.0f}" for k, v in graded["seconds"].items()))
