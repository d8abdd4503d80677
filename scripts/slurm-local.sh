#!/usr/bin/env bash
# A one-node Slurm on this machine, for the tests of `native slurm`: Debian's slurm-wlm and
# munge (installed with apt when missing; needs root), a slurm.conf in a temporary
# directory (select/cons_tres, this machine's CPUs, proctrack/linuxproc, task/none, state
# and logs beside it), munged, slurmctld and slurmd started without systemd.
#
#   eval "$(scripts/slurm-local.sh start)"   # exports SLURM_CONF and SLURM_LOCAL_DIR
#   scripts/slurm-local.sh stop              # stops the daemons by their pid files
#
# `start` waits until sinfo shows the node idle. Messages go to stderr; stdout is only the
# exports.
set -euo pipefail

start() {
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        [ "$(id -u)" = 0 ] || { echo "slurm-local: Slurm is not installed and this is not root" >&2; exit 1; }
        echo "slurm-local: installing slurm-wlm and munge (apt)" >&2
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2; then
            apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >&2
        fi
    fi
    local dir host cpus
    dir=$(mktemp -d /tmp/slurm-local.XXXXXX)
    host=$(hostname)
    cpus=$(nproc)
    mkdir -p "$dir"/{spool,state,log}
    cat > "$dir/slurm.conf" <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmctldPort=$((20000 + RANDOM % 20000))
SlurmdPort=$((40000 + RANDOM % 20000))
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$dir/slurm.conf
    [ -f /etc/munge/munge.key ] || mungekey -c >&2
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
    if ! munge -n >/dev/null 2>&1; then
        munged --force >&2
        touch "$dir/munged.started"
    fi
    slurmctld >&2
    slurmd >&2
    for _ in $(seq 100); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            echo "export SLURM_CONF=$dir/slurm.conf SLURM_LOCAL_DIR=$dir"
            echo "slurm-local: node $host idle ($cpus CPUs), state in $dir" >&2
            return 0
        fi
        sleep 0.2
    done
    echo "slurm-local: the node did not come up; logs in $dir/log" >&2
    stop_dir "$dir"
    exit 1
}

stop_dir() {
    local dir=$1 pid
    for name in slurmd slurmctld; do
        if [ -f "$dir/$name.pid" ]; then
            pid=$(cat "$dir/$name.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    if [ -f "$dir/munged.started" ] && [ -f /run/munge/munged.pid ]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop_dir "${SLURM_LOCAL_DIR:?run start first, or set SLURM_LOCAL_DIR}" ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
