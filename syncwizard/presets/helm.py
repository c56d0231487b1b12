"""The Sync Service from Alfresco's Helm charts: the Deployment
<release>-alfresco-sync-service (JAVA_OPTS from its ConfigMap), the broker
<release>-activemq, the Sync DB in its own PostgreSQL (<release>-postgresql-sync,
database syncservice-postgresql).

The chart has no checksum annotation, so a ConfigMap change restarts nothing. -Drecover is
put in the Deployment's own env instead (`kubectl set env`, reading KEY=VALUE from stdin,
so the password is on no command line) as JAVA_OPTS=$(JAVA_OPTS) -Drecover=...: Kubernetes
expands $(JAVA_OPTS) from the ConfigMap's value (env after envFrom; inference, not tested
here). Changing the pod template rolls the Deployment out; the restart without recover
removes the entry again (`JAVA_OPTS-`) and deletes the ReplicaSet that still holds the
option in its template (a Deployment keeps old ones for rollback).
"""

from __future__ import annotations

import shlex

from syncwizard.clients.service import RECOVER_MARK
from syncwizard.presets import common
from syncwizard.presets.model import Key, Preset, Section
from syncwizard.presets.options import PresetOptions, base_url, count, dns_label

RELEASE = "acs"
NAMESPACE = "alfresco"
INGRESS = "http://localhost"
HELM_RELEASE_LIMIT = 53  # helm's own limit on a release name
NAMESPACE_LIMIT = 63
# The chart's liveness probe: initial delay 30 s, period 30 s, 3 failures.
RELAXED_FAILURES = 120  # an hour at a 30 s period


def kubectl(namespace: str, verb: str) -> str:
    """`kubectl VERB -n NS`: the verb first, as the restore's check for a start that stores
    options reads it (`kubectl set`, `kubectl patch`: then the restart without recover is
    required, runbook/restore/service_steps.py)."""
    return f"kubectl {verb} -n {shlex.quote(namespace)}"


def recover_start(namespace: str, deployment: str) -> str:
    """The option into the Deployment's env from stdin, then one replica: the recover runs
    on one pod only."""
    return (
        f"printf 'JAVA_OPTS=$(JAVA_OPTS) %s\\n' {common.RECOVER}"
        f" | {kubectl(namespace, 'set env')} deploy/{deployment} -e -"
        f" && {kubectl(namespace, 'scale')} deploy/{deployment} --replicas=1"
    )


def plain_start(namespace: str, deployment: str, replicas: int) -> str:
    """The env entry removed, the Deployment scaled up, and every ReplicaSet of it whose pod
    template still holds -Drecover deleted (the template goes through the pipe to awk only)."""
    template = (
        '{range .items[*]}{.metadata.name}{" "}'
        '{.spec.template.spec.containers[*].env[*].value}{"\\n"}{end}'
    )
    holding = f'index($1, "{deployment}-") == 1 && /{RECOVER_MARK}/ {{print $1}}'
    return (
        f"{kubectl(namespace, 'set env')} deploy/{deployment} JAVA_OPTS-"
        f" && {kubectl(namespace, 'scale')} deploy/{deployment} --replicas={replicas}"
        f" && {kubectl(namespace, 'get rs')} -o jsonpath={shlex.quote(template)}"
        f" | awk {shlex.quote(holding)} | xargs -r {kubectl(namespace, 'delete rs')}"
    )


def liveness_caution(namespace: str, deployment: str) -> str:
    patch = (
        '[{"op":"add","path":"/spec/template/spec/containers/0/livenessProbe/'
        f'failureThreshold","value":{RELAXED_FAILURES}}}]'
    )
    return (
        "Helm's liveness probe (every 30 s after 30 s, 3 failures) can kill a long recover "
        "before the health check answers, and the restarted pod recovers again. Relax it "
        "first, while the Deployment is at 0 replicas: "
        f"`{kubectl(namespace, 'patch')} deploy/{deployment} "
        f"--type=json -p '{patch}'` (an hour), or remove the probe with "
        '"op":"remove" on .../livenessProbe; put it back after the restart without recover '
        "(helm upgrade with your values)."
    )


def preset(options: PresetOptions) -> Preset:
    release = dns_label(
        "release", options.release or RELEASE, HELM_RELEASE_LIMIT, "Helm release name"
    )
    namespace = dns_label(
        "namespace", options.namespace or NAMESPACE, NAMESPACE_LIMIT, "Kubernetes namespace"
    )
    replicas = count("replicas", 1 if options.replicas is None else options.replicas)
    repository_replicas = count(
        "repository_replicas",
        1 if options.repository_replicas is None else options.repository_replicas,
    )
    ingress = base_url("ingress_url", options.ingress_url or INGRESS)
    k = f"kubectl -n {shlex.quote(namespace)}"  # the broker's commands, as Alfresco writes them
    sync = f"{release}-alfresco-sync-service"
    broker = f"{release}-activemq"
    repository = f"{release}-alfresco-repository"
    caution = liveness_caution(namespace, sync)
    visible = (
        f"the Deployment {sync}'s pod template and its ReplicaSet (`kubectl get deploy/rs "
        "-o yaml`, anyone allowed to read them), the pod's environment and java command "
        "line, until the restart without recover"
    )
    return Preset(
        name="helm",
        title=f"the Sync Service of the Helm release {release} in the namespace {namespace}",
        about=f"Run syncwizard where kubectl reaches the cluster, as a user allowed to scale, "
        f"set env on and patch Deployments, and delete ReplicaSets, in {namespace}. The "
        "health check and the repository's readiness are read through the ingress; the "
        "broker and the databases through `kubectl port-forward`.",
        todo=(
            f"set ingress_url to your ingress (now {ingress}): health.url and "
            "repository.ready_url are under it",
            "start the database port-forwards (commands in the comments of repository_db "
            "and sync_db) and put their passwords in ~/.pgpass; the broker's in "
            "$SYNCWIZARD_BROKER_PASSWORD",
            "relax the Sync Service's liveness probe before the recover (the recover gate "
            "and sync_service.recover_caution say how)",
        ),
        sections=(
            Section(
                "health",
                (
                    Key(
                        "url",
                        f"{ingress}{common.PROXY_HEALTH_PATH}",
                        "Through the ingress (path /syncservice). A port-forward to the "
                        "pod would die at every restart of the recover.",
                    ),
                ),
            ),
            Section(
                "broker",
                (
                    common.jolokia(
                        f"http://localhost:8161{common.JOLOKIA_PATH}",
                        "A port-forward arrives as loopback: broker.tunnel below.",
                    ),
                    *common.broker_user(),
                    common.topic(),
                    common.broker_cli(
                        f"{k} exec deploy/{broker} -- /opt/activemq/bin/activemq",
                        f"Runs inside the broker's pod ({broker}).",
                    ),
                    common.broker_tunnel(
                        f"{k} port-forward deploy/{broker} 8161:8161",
                        "Forwards the console's port to this host.",
                    ),
                ),
                why=common.no_stomp_window(
                    "None is written here: the broker's activemq.xml is inside its image, and "
                    "an edit made with kubectl exec is lost when the pod restarts. Opening "
                    "STOMP needs a ConfigMap mounted over conf/activemq.xml and a rollout, "
                    "reached through `kubectl port-forward` to 61613."
                ),
            ),
            Section(
                "repository_db",
                (
                    Key(
                        "conninfo",
                        "host=localhost port=5432 dbname=alfresco user=alfresco",
                        f"Through `{k} port-forward svc/{release}-postgresql-acs 5432:5432` "
                        f"(check the name: `{k} get svc`). Password: ~/.pgpass.",
                    ),
                ),
            ),
            Section(
                "sync_db",
                (
                    Key(
                        "conninfo",
                        "host=localhost port=5433 dbname=syncservice-postgresql user=alfresco",
                        f"Sync's own PostgreSQL, through `{k} port-forward "
                        f"svc/{release}-postgresql-sync 5433:5432`.",
                    ),
                ),
            ),
            Section(
                "repository",
                (
                    Key("stop", f"{kubectl(namespace, 'scale')} deploy/{repository} --replicas=0"),
                    Key(
                        "start",
                        f"{kubectl(namespace, 'scale')} deploy/{repository} "
                        f"--replicas={repository_replicas}",
                    ),
                    Key("ready_url", f"{ingress}{common.READY_PATH}"),
                ),
            ),
            Section(
                "sync_service",
                (
                    Key("stop", f"{kubectl(namespace, 'scale')} deploy/{sync} --replicas=0"),
                    Key(
                        "start_with_recover",
                        recover_start(namespace, sync),
                        f"{common.RECOVER_RULE} This command puts it in the Deployment's "
                        "env (JAVA_OPTS=$(JAVA_OPTS) plus the option, read by kubectl from "
                        "stdin) and scales it to one replica: the pod template changes, so "
                        "a new pod starts with it. While it is set it is readable in the "
                        "Deployment and its ReplicaSet, and in the pod.",
                    ),
                    Key(
                        "start",
                        plain_start(namespace, sync, replicas),
                        "The restart without recover: removes the env entry (the "
                        "ConfigMap's JAVA_OPTS applies again), scales back to "
                        f"{replicas}, and deletes the ReplicaSet whose template still "
                        "holds the option.",
                    ),
                    Key("recover_option_visible_in", visible),
                    Key("recover_caution", caution),
                    Key(
                        "down_timeout",
                        90.0,
                        "A pod takes its termination grace (and preStop) to stop.",
                    ),
                ),
                why="No pid_file or process_pattern: the pod is not a process of this "
                "host, so after the restart without recover the wizard asks you to confirm "
                "-Drecover is gone (`kubectl get pod -o yaml`).",
            ),
        ),
    )
