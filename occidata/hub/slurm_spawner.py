"""Slurm mode's spawner: each researcher's lab is a Slurm job of their own system account.

It is batchspawner's ``SlurmSpawner`` (the spawner HPC centres use), verified on JupyterHub 6, with
what the platform needs on top:

- the job runs as ``<server.user_prefix><name>``, server mode's account (made at first login), so
  file modes keep non-public data closed exactly as in server mode; ``sbatch``, ``squeue`` and
  ``scancel`` run as that account (``runuser``, the hub being root);
- the profile's Slurm request (:mod:`occidata.slurm.requests`) becomes the job's options; Slurm
  enforces them (memory and cores by cgroup, the wall time, the GPUs by ``--gres``);
- the lab listens on ``slurm.lab_ip`` of its compute node and the hub connects to the node's address
  as Slurm knows it (``NodeAddr``), never to 127.0.0.1 by assumption;
- the waiting page says, in French, the job's place in the queue and Slurm's reason; a job that ends
  before its lab answers (out of memory, time limit, cancelled) ends the spawn with Slurm's state
  and the limit that was hit (:mod:`occidata.slurm.queue`);
- batchspawner's own API handler lets a lab's token set *any* attribute of its spawner (its
  commands included, which the hub runs as root): it is replaced by :class:`LabPortHandler`, which
  takes a port, and only from the token of a lab being started.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import socket
import subprocess

from jupyterhub.apihandlers import APIHandler, default_handlers
from jupyterhub.spawner import SpawnException
from tornado import web
from traitlets import Float, List, Unicode, default

import batchspawner
from batchspawner import JobStatus, SlurmSpawner

from ..slurm.commands import RUNUSER, as_account, slurm_environment
from ..slurm.groups import GroupError, sync_account_groups
from ..slurm.queue import JobEnd, job_end, pending_reason_fr, queue_position
from .spawner import user_groups
from .system_users import ensure_system_user, system_username

PORT_API = r"/api/batchspawner"

# Where a lab's job writes its output, inside the researcher's home (shared storage).
JOB_LOG_DIR = ".cache/occidata"

BATCH_SCRIPT = """#!/bin/bash
#SBATCH --job-name=occidata-lab
#SBATCH --output={{homedir}}/""" + JOB_LOG_DIR + """/lab-%j.log
#SBATCH --chdir={{homedir}}
#SBATCH --export={{keepvars}}
{% for option in sbatch_options %}#SBATCH {{option}}
{% endfor %}
set -eu
{{prologue}}
exec {{cmd}}
"""


class LabPortHandler(APIHandler):
    """``POST /hub/api/batchspawner {"port": N}``: a lab being started on a compute node says
    which port it chose. Only the port, only from that lab's own token, only while it starts."""

    @web.authenticated
    def post(self):
        user = self.current_user
        token = self.get_auth_token()
        spawner = next((s for s in getattr(user, "spawners", {}).values() if token and s.api_token == token), None)
        if spawner is None or not spawner.pending == "spawn":
            raise web.HTTPError(403, "only a lab being started may give its port")
        body = self.get_json_body() or {}
        port = body.get("port")
        if set(body) != {"port"} or isinstance(port, bool) or not isinstance(port, int) or not 1024 <= port <= 65535:
            raise web.HTTPError(400, 'the body must be {"port": <1024-65535>} and nothing else')
        spawner.port = port
        self.set_status(201)
        self.finish(json.dumps({"message": "port noted"}))


class SlurmJobEnded(SpawnException):
    """A lab's job refused or ended before its lab answered: JupyterHub 6's SpawnException, so the
    French sentence reaches the researcher (API answer, waiting page) and no traceback is logged."""

    def __init__(self, message: str, state: str = "refused"):
        super().__init__(message, reason=f"slurm-{state.lower()}", status_code=503)


class OccidataSlurmSpawner(SlurmSpawner):
    """batchspawner's SlurmSpawner for the platform's accounts, requests and messages (see module)."""

    batch_script = Unicode(BATCH_SCRIPT).tag(config=True)
    exec_prefix = Unicode(RUNUSER + " -u {account} --").tag(config=True)
    # Run the lab in the batch step itself: its memory, cores and GPUs are the job's.
    req_srun = Unicode("").tag(config=True)
    user_prefix = Unicode("jupyter-", config=True, help="Prefix of the system user of each hub user.")
    home_root = Unicode("/home", config=True, help="Where the system users' homes are created.")
    lab_ip = Unicode("0.0.0.0", config=True, help="Where a lab listens on its compute node.")
    slurm_conf = Unicode("", config=True, help="slurm.conf for Slurm's commands (SLURM_CONF); empty: Slurm's default.")
    startup_poll_interval = Float(1.0).tag(config=True)
    sbatch_options = List(Unicode(), help="This start's sbatch options (set from the profile).")
    partition = Unicode("", help="This start's partition (set from the profile).")
    last_end = Unicode("", help="Why Slurm ended this user's last lab (French), shown on the hub's home page.")
    group_prefix = Unicode("occgrp-", config=True, help="Prefix of the Unix groups mirroring hub groups.")
    gating_groups = List(Unicode(), config=True, help="Hub groups that gate profiles, mirrored as Unix groups.")

    @property
    def account(self) -> str:
        return system_username(self.user.name, self.user_prefix)

    @default("req_homedir")
    def _homedir(self):
        return str(os.path.join(self.home_root, self.account))

    @default("req_username")
    def _username(self):
        return self.account

    def get_req_subvars(self):
        subvars = super().get_req_subvars()
        subvars.update(account=self.account, homedir=self._home(), sbatch_options=list(self.sbatch_options))
        return subvars

    def _home(self) -> str:
        try:
            return pwd.getpwnam(self.account).pw_dir
        except KeyError:
            return os.path.join(self.home_root, self.account)

    def user_env(self, env):
        account = pwd.getpwnam(self.account)
        env.update(USER=account.pw_name, HOME=account.pw_dir, SHELL=account.pw_shell)
        return env

    def get_env(self):
        env = super().get_env()
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    async def run_command(self, cmd, input=None, env=None):
        # squeue and scancel run with the hub's own environment: give them the site's slurm.conf too.
        base = env if env is not None else os.environ
        env = slurm_environment({"slurm": {"conf": self.slurm_conf or None}}, base)
        return await super().run_command(cmd, input=input, env=env)

    def _prepare_home(self) -> None:
        home = ensure_system_user(self.account, self.home_root)
        # As the account itself: the home is the researcher's, and a link planted in it must not
        # make root create (and give away) a folder elsewhere.
        done = subprocess.run(as_account(["mkdir", "-p", "-m", "700", str(home / JOB_LOG_DIR)], self.account),
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise SlurmJobEnded(f"Le dossier des journaux de votre serveur ({JOB_LOG_DIR}) n'a pas pu être créé dans "
                                f"votre dossier personnel : {done.stderr.strip()}")

    async def start(self):
        """Submit the lab's job, wait while it is pending, then until its lab answers; a job that
        ends first raises :class:`SlurmJobEnded` with Slurm's state in French."""
        self.ip = self.lab_ip
        self.port = 0
        self.last_end = ""
        if self.server:
            self.server.port = 0
        self._prepare_home()
        await self._mirror_groups()
        try:
            await self.submit_batch_script()
        except RuntimeError as refused:
            raise SlurmJobEnded(f"Slurm a refusé la demande de serveur : {refused}") from None
        if not self.job_id:
            raise SlurmJobEnded("Slurm n'a pas donné de numéro de tâche : la demande n'a pas été prise en compte.")
        job = self.job_id
        while True:
            status = await self.query_job_status()
            if status == JobStatus.RUNNING:
                break
            if status not in (JobStatus.PENDING, JobStatus.UNKNOWN):
                raise self._ended(await self.job_end(job))
            await asyncio.sleep(self.startup_poll_interval)
        address = await self.node_address(self.state_gethost())
        while not (self.port and await _answers(address, self.port)):
            status = await self.query_job_status()
            if status not in (JobStatus.RUNNING, JobStatus.UNKNOWN):
                raise self._ended(await self.job_end(job))
            await asyncio.sleep(self.startup_poll_interval)
        self.log.info("Lab of %s is Slurm job %s at %s:%s", self.user.name, job, address, self.port)
        return address, self.port

    async def _mirror_groups(self) -> None:
        """The account's Unix groups in line with its hub groups, for the partitions' AllowGroups;
        slurmctld reads memberships again when one changed."""
        if not self.gating_groups:
            return
        try:
            changed = await asyncio.to_thread(sync_account_groups, self.account, self.group_prefix,
                                              list(self.gating_groups), user_groups(self))
            if changed:
                await self.run_command("scontrol reconfigure")
        except (GroupError, RuntimeError) as error:
            self.log.error("Unix groups of %s: %s", self.account, error)
            raise SlurmJobEnded("Les droits de votre compte sur les partitions Slurm n'ont pas pu être mis à jour ; "
                                "prévenez l'équipe de la plateforme.") from None

    async def poll(self):
        """None while the lab's job runs; when Slurm ended it (wall time, memory, a node lost), keep
        why for the home page, since the researcher's lab only says it is gone."""
        job = self.job_id
        status = await super().poll()
        if status is not None and job:
            end = await self.job_end(job)
            if end.state not in ("CANCELLED", "DISAPPEARED"):
                self.last_end = end.french()
        return status

    def get_state(self):
        state = super().get_state()
        if self.last_end:
            state["last_end"] = self.last_end
        return state

    def load_state(self, state):
        super().load_state(state)
        self.last_end = state.get("last_end", "")

    def clear_state(self):
        # The job is forgotten when the server stops; why it ended is kept for the home page.
        last_end = self.last_end
        super().clear_state()
        self.last_end = last_end

    @staticmethod
    def _ended(end: JobEnd) -> SlurmJobEnded:
        return SlurmJobEnded(end.french(), end.state)

    async def node_address(self, node: str) -> str:
        """The address the hub reaches ``node`` at: its NodeAddr in Slurm, else its name."""
        try:
            answer = await self.run_command(f"sinfo -h -N -n {node} -o %o")
        except RuntimeError:
            return node
        return (answer.split() or [node])[0]

    async def job_end(self, job: str) -> JobEnd:
        """How job ``job`` ended, once Slurm has written its final state."""
        end = JobEnd(job, "UNKNOWN")
        for _ in range(10):
            try:
                end = job_end(job, await self.run_command(f"scontrol show job -o {job}"))
            except RuntimeError:
                break
            if end.state not in ("RUNNING", "COMPLETING", "PENDING", "CONFIGURING"):
                break
            await asyncio.sleep(1)
        if end.state == "UNKNOWN":
            return JobEnd(job, "DISAPPEARED")
        self.log.warning("Lab job %s of %s ended: %s", job, self.user.name, end)
        return end

    async def progress(self):
        """French messages for the waiting page: sent to Slurm, waiting (place and reason), running."""
        said = None
        while True:
            if not self.job_id:
                message = "Envoi de la demande à Slurm…"
            elif self.state_ispending():
                message = await self._pending_message()
            elif self.state_isrunning():
                message = (f"La tâche Slurm {self.job_id} a démarré sur le nœud {self.state_gethost()} : "
                           "JupyterLab se prépare…")
            else:
                message = "Interrogation de Slurm…"
            if message != said:
                said = message
                yield {"message": message}
            if self.state_isrunning() and self.port:
                return
            await asyncio.sleep(1)

    async def _pending_message(self) -> str:
        job = self.job_id
        try:
            reason = (await self.run_command(f"squeue -h -j {job} -o %r")).strip()
            queue = await self.run_command(f"squeue -h -t PENDING -p {self.partition} -S -p,i -o %i"
                                           if self.partition else "squeue -h -t PENDING -S -p,i -o %i")
        except RuntimeError:
            return f"Tâche Slurm {job} en attente."
        place = queue_position(job, queue)
        where = f" dans la partition {self.partition}" if self.partition else ""
        rank = f" : {_rank(place[0])} sur {place[1]}" if place else ""
        return f"Tâche Slurm {job} en attente dans la file{where}{rank} — {pending_reason_fr(reason)}."


def _rank(position: int) -> str:
    return "1re" if position == 1 else f"{position}e"


async def _answers(host: str, port: int) -> bool:
    """Whether something listens at ``host:port`` (the lab, once its server started)."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=2)
    except (OSError, asyncio.TimeoutError, socket.gaierror):
        return False
    writer.close()
    return True


# Replace batchspawner's handler (put in the hub's API list when batchspawner is imported) by ours,
# at the same address, the way batchspawner registers its own (JupyterHub.extra_handlers is
# deprecated): the lab's side (batchspawner-singleuser) is unchanged. Importing this module is
# enough: the hub configuration of slurm mode does (occidata.hub.spawner).
default_handlers[:] = [entry for entry in default_handlers
                       if entry[1] is not batchspawner.api.BatchSpawnerAPIHandler and entry[0] != PORT_API]
default_handlers.append((PORT_API, LabPortHandler))
