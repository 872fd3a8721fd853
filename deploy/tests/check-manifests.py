#!/usr/bin/env python3
"""Invariants of a rendered overlay (kubectl kustomize output).

    check-manifests.py ENV RENDERED.yaml SETTINGS.yaml

Checks, for environment ENV:
  - one CronJob per job of the environment's envsync.conf (the settings'
    `config`), named envsync-<job> (52 characters at most), and nothing else
    but the ServiceAccount and the ConfigMap;
  - the ConfigMap's envsync.conf is that config, byte for byte;
  - every CronJob: concurrencyPolicy Forbid, restartPolicy Never,
    backoffLimit <= 1, an activeDeadlineSeconds longer than the job's
    `timeout` in envsync.conf (envsync stops first, cleanly), the
    podFailurePolicy (FailJob on 3 4 6 7 11, never on 5 or 8, Ignore on
    DisruptionTarget), pod and container run as non-root with a read-only
    root filesystem, no privilege escalation, all capabilities dropped,
    /tmp an emptyDir, args `-c /etc/envsync/envsync.conf --log-format json
    run <job>` naming a job of that config;
  - every /etc/envsync/... file the config names is in the pod's config
    volume, every ${VAR} it uses is in the container's environment;
  - the ServiceAccount carries an IAM role annotation.
Prints one line per violation; exit 1 if any.
"""
import re
import sys

import yaml

CONF = "/etc/envsync/envsync.conf"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def strip_comments(text):
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            e = text.find("*/", i + 2)
            i = n if e < 0 else e + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def config_jobs(text):
    """{job name: timeout seconds or None} from the top-level groups of jobs = ( ... )."""
    t = strip_comments(text)
    m = re.search(r"\bjobs\s*[=:]\s*\(", t)
    if not m:
        return {}
    jobs, depth, start, i = {}, 0, None, m.end()
    while i < len(t):
        c = t[i]
        if c == '"':
            j = i + 1
            while j < len(t) and t[j] != '"':
                j += 2 if t[j] == "\\" else 1
            i = j + 1
            continue
        if c in "{(":
            if depth == 0 and c == "{":
                start = i
            depth += 1
        elif c in "})":
            depth -= 1
            if depth == 0 and c == "}":
                block = t[start:i + 1]
                # keys of this group only: blank out nested groups and lists
                flat, d = [], 0
                for ch in block[1:-1]:
                    if ch in "{(":
                        d += 1
                    elif ch in "})":
                        d -= 1
                    elif d == 0:
                        flat.append(ch)
                flat = "".join(flat)
                name = re.search(r"\bname\s*[=:]\s*\"([^\"]+)\"", flat)
                to = re.search(r"\btimeout\s*[=:]\s*\"(\d+)([smhd])\"", flat)
                if name:
                    jobs[name.group(1)] = int(to.group(1)) * UNITS[to.group(2)] if to else None
            if depth < 0:
                break
        i += 1
    return jobs


def main():
    env, rendered, settings_path = sys.argv[1:4]
    errors = []

    def err(msg):
        errors.append("%s: %s" % (env, msg))

    settings = yaml.safe_load(open(settings_path))
    import os
    conf_path = os.path.normpath(os.path.join(os.path.dirname(settings_path), settings["config"]))
    conf_text = open(conf_path).read()
    jobs = config_jobs(conf_text)
    if not jobs:
        err("%s: no jobs found" % conf_path)
    stripped = strip_comments(conf_text)
    strings = re.findall(r"\"((?:[^\"\\]|\\.)*)\"", stripped)
    files = sorted({s for s in strings if s.startswith("/etc/envsync/")})
    variables = sorted({v for s in strings for v in re.findall(r"\$\{([A-Za-z_]\w*)\}", s)})

    docs = [d for d in yaml.safe_load_all(open(rendered)) if d]
    cronjobs = {d["metadata"]["name"]: d for d in docs if d.get("kind") == "CronJob"}
    others = sorted("%s/%s" % (d.get("kind"), d["metadata"]["name"])
                    for d in docs if d.get("kind") != "CronJob")
    if others != ["ConfigMap/envsync-config", "ServiceAccount/envsync"]:
        err("expected exactly ConfigMap/envsync-config and ServiceAccount/envsync beside "
            "the CronJobs, got %s" % others)

    want = {"envsync-" + j for j in jobs}
    for name in sorted(want - set(cronjobs)):
        err("no CronJob %s for job %s of %s" % (name, name[8:], conf_path))
    for name in sorted(set(cronjobs) - want):
        err("CronJob %s runs no job of %s" % (name, conf_path))

    for d in docs:
        if d.get("kind") == "ConfigMap":
            if d.get("data", {}).get("envsync.conf") != conf_text:
                err("ConfigMap %s: envsync.conf differs from %s (rerun generate.py)"
                    % (d["metadata"]["name"], conf_path))
        if d.get("kind") == "ServiceAccount":
            arn = (d["metadata"].get("annotations") or {}).get("eks.amazonaws.com/role-arn", "")
            if not arn.startswith("arn:aws:iam::"):
                err("ServiceAccount %s: no eks.amazonaws.com/role-arn annotation" % d["metadata"]["name"])
            if d["metadata"].get("namespace") != settings["namespace"]:
                err("ServiceAccount not in namespace %s" % settings["namespace"])

    for name, cj in sorted(cronjobs.items()):
        job = name[len("envsync-"):]

        def e(msg, name=name):
            err("CronJob %s: %s" % (name, msg))
        if len(name) > 52:
            e("name longer than 52 characters")
        if cj["metadata"].get("namespace") != settings["namespace"]:
            e("not in namespace %s" % settings["namespace"])
        spec = cj["spec"]
        if spec.get("concurrencyPolicy") != "Forbid":
            e("concurrencyPolicy is %r, not Forbid" % spec.get("concurrencyPolicy"))
        js = spec["jobTemplate"]["spec"]
        if js.get("backoffLimit") not in (0, 1):
            e("backoffLimit %r (0 or 1 expected)" % js.get("backoffLimit"))
        deadline = js.get("activeDeadlineSeconds")
        if not isinstance(deadline, int) or deadline <= 0:
            e("no activeDeadlineSeconds")
        elif jobs.get(job) and deadline <= jobs[job]:
            e("activeDeadlineSeconds %d is not above the job's timeout (%d s) in envsync.conf"
              % (deadline, jobs[job]))
        rules = (js.get("podFailurePolicy") or {}).get("rules") or []
        fail_codes, count_codes, ignores_disruption = set(), set(), False
        for r in rules:
            oc = r.get("onExitCodes")
            if oc and oc.get("operator") == "In":
                if oc.get("containerName") not in (None, "envsync"):
                    e("podFailurePolicy rule for another container %s" % oc.get("containerName"))
                (fail_codes if r["action"] == "FailJob" else count_codes).update(oc["values"])
            for pc in r.get("onPodConditions") or []:
                if pc.get("type") == "DisruptionTarget" and r["action"] == "Ignore":
                    ignores_disruption = True
        if not {3, 4, 6, 7, 11} <= fail_codes:
            e("podFailurePolicy does not FailJob on exit codes %s"
              % sorted({3, 4, 6, 7, 11} - fail_codes))
        if fail_codes & {5, 8}:
            e("podFailurePolicy fails the Job on transient exit codes %s" % sorted(fail_codes & {5, 8}))
        if not ignores_disruption:
            e("podFailurePolicy does not ignore DisruptionTarget")
        pod = js["template"]["spec"]
        if pod.get("restartPolicy") != "Never":
            e("restartPolicy %r (podFailurePolicy needs Never)" % pod.get("restartPolicy"))
        psc = pod.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True or not psc.get("runAsUser"):
            e("pod does not run as a non-root uid")
        ctrs = pod.get("containers") or []
        if len(ctrs) != 1:
            e("%d containers (1 expected)" % len(ctrs))
            continue
        c = ctrs[0]
        csc = c.get("securityContext") or {}
        if csc.get("readOnlyRootFilesystem") is not True:
            e("root filesystem not read-only")
        if csc.get("allowPrivilegeEscalation") is not False:
            e("privilege escalation allowed")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            e("capabilities not dropped")
        if csc.get("runAsUser", psc.get("runAsUser")) in (0, None):
            e("container runs as root")
        args = c.get("args") or []
        if args[:-1] != ["-c", CONF, "--log-format", "json", "run"]:
            e("args %s are not -c %s --log-format json run JOB" % (args, CONF))
        elif args[-1] not in jobs:
            e("args name job %s, not in %s" % (args[-1], conf_path))
        elif args[-1] != job:
            e("runs job %s under the name of %s" % (args[-1], job))
        if not c.get("resources", {}).get("limits", {}).get("memory"):
            e("no memory limit")
        vols = {v["name"]: v for v in pod.get("volumes") or []}
        mounts = {m["mountPath"]: m for m in c.get("volumeMounts") or []}
        tmp = mounts.get("/tmp")
        if not tmp or "emptyDir" not in vols.get(tmp["name"], {}):
            e("/tmp is not an emptyDir")
        cfg = mounts.get("/etc/envsync")
        if not cfg or not cfg.get("readOnly"):
            e("no read-only mount at /etc/envsync")
            continue
        provided = set()
        for src in (vols.get(cfg["name"], {}).get("projected") or {}).get("sources") or []:
            for kind in ("configMap", "secret"):
                if kind in src:
                    for it in src[kind].get("items") or []:
                        provided.add("/etc/envsync/" + it["path"])
        for f in files:
            if f not in provided:
                e("%s (named in %s) is not mounted" % (f, conf_path))
        envs = {x["name"] for x in c.get("env") or []}
        for v in variables:
            if v not in envs:
                e("${%s} (used in %s) is not in the environment" % (v, conf_path))
        if CONF not in provided:
            e("%s is not mounted" % CONF)

    for x in errors:
        print(x)
    print("%s: %d CronJobs checked, %d problems" % (env, len(cronjobs), len(errors)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
