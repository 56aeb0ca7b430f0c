"""JupyterHub for a Backprop Lab class: students fetch and submit chapters through nbgrader's exchange.

    jupyterhub -f deploy/jupyterhub_config.py        (or: make hub)

Every setting comes from the environment, so that one file serves a class and the
loopback test (tests/deploy/test_hub.py). See deploy/README.md.

BACKPROP_HUB_MODE         "class" (default): PAM login and a process per system user;
                          "test": DummyAuthenticator and SimpleLocalProcessSpawner, for
                          loopback tests and demos only (no isolation between users)
BACKPROP_HUB_EXCHANGE     the nbgrader exchange folder (default /srv/nbgrader/exchange)
BACKPROP_HUB_STATE        the hub's database, cookie secret and students' config
                          (default /srv/jupyterhub)
BACKPROP_HUB_HOMES        test mode: the users' home folders (default STATE/home)
BACKPROP_HUB_IP, _PORT    where the proxy listens (default 127.0.0.1:8000)
BACKPROP_HUB_HUB_PORT     the hub's own port (default 8081), on 127.0.0.1
BACKPROP_HUB_PROXY_API_PORT   the proxy's API port (default PORT + 1), on 127.0.0.1
BACKPROP_HUB_SINGLEUSER   the students' jupyterhub-singleuser: required in class mode, from an
                          environment built from dist/student (see README); test mode
                          defaults to this environment's
BACKPROP_HUB_STUDENTS, _ADMINS   class mode: comma-separated allowed users and admins
BACKPROP_HUB_ADMIN_TOKEN  if set: an "instructor" service with this API token may create
                          users and start their servers (scripts and the test use it)
"""

import os
import sys
from pathlib import Path

from autograder.instructor.classroom.hub import DEFAULT_EXCHANGE, write_student_config

c = get_config()  # noqa: F821 (given by JupyterHub)
env = os.environ.get
mode = env("BACKPROP_HUB_MODE", "class")
if mode not in ("class", "test"):
    raise SystemExit(f"BACKPROP_HUB_MODE must be 'class' or 'test', not {mode!r}")
bin_dir = Path(sys.executable).parent
state = Path(env("BACKPROP_HUB_STATE", "/srv/jupyterhub")).resolve()
exchange = Path(env("BACKPROP_HUB_EXCHANGE", DEFAULT_EXCHANGE)).resolve()
state.mkdir(parents=True, exist_ok=True)

# -- network: the proxy is the only public port; the hub and the proxy's API stay on loopback
ip = env("BACKPROP_HUB_IP", "127.0.0.1")
port = int(env("BACKPROP_HUB_PORT", "8000"))
c.JupyterHub.bind_url = f"http://{ip}:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(env("BACKPROP_HUB_HUB_PORT", "8081"))
# The proxy: configurable-http-proxy's Python implementation (pip, no Node.js).
c.ConfigurableHTTPProxy.command = [str(bin_dir / "configurable-http-proxy")]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{int(env('BACKPROP_HUB_PROXY_API_PORT', port + 1))}"
c.ConfigurableHTTPProxy.pid_file = str(state / "jupyterhub-proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every student's server

# -- who logs in, and where their server runs
if mode == "test":
    c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
    c.Authenticator.allow_all = True
    c.JupyterHub.spawner_class = "jupyterhub.spawner.SimpleLocalProcessSpawner"
    homes = Path(env("BACKPROP_HUB_HOMES", str(state / "home"))).resolve()
    c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
else:
    # A class: system users (PAM), each server running as its own user. On a shared
    # server use SystemdSpawner, on a cluster DockerSpawner or KubeSpawner (see README).
    c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
    c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
    c.Authenticator.allowed_users = set(filter(None, env("BACKPROP_HUB_STUDENTS", "").split(",")))
    c.Authenticator.admin_users = set(filter(None, env("BACKPROP_HUB_ADMINS", "").split(",")))

# -- each student's server: JupyterLab with nbgrader's assignment list, pointed at the exchange
student_config = state / "student-config"
# Who submits: nbgrader names a submission after the unix user the server runs as. In test
# mode every server runs as the hub's unix user, so the config names the hub user instead.
write_student_config(student_config, exchange, hub_user_as_student=(mode == "test"))
# Students' servers run from their own environment: this one is the instructor's, installed
# from a clone that holds solutions/ and the hidden tests, which students must not read.
singleuser = env("BACKPROP_HUB_SINGLEUSER")
if mode == "class" and not singleuser:
    raise SystemExit("Class mode: set BACKPROP_HUB_SINGLEUSER to the jupyterhub-singleuser of the "
                     "students' environment, built from dist/student (see deploy/README.md).")
c.Spawner.cmd = [singleuser or str(bin_dir / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
if os.getuid() == 0 and mode == "test":
    c.Spawner.args = ["--allow-root"]  # test mode runs every server as the hub's user
c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": str(student_config),
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120

# -- an API token for the instructor's scripts (and the loopback test)
admin_token = env("BACKPROP_HUB_ADMIN_TOKEN")
if admin_token:
    c.JupyterHub.services = [{"name": "instructor", "api_token": admin_token}]
    c.JupyterHub.load_roles = [{
        "name": "instructor",
        "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users"],
        "services": ["instructor"],
    }]
