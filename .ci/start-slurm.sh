#!/usr/bin/env bash
# start-slurm.sh - a real one-node Slurm cluster from Debian 12 packages, without systemd.
# (CI starts it before the test suite so that tests/test_slurm.py runs the workflow through
# profiles/slurm; from the workplace tool of the same name.)
#
#   bash start-slurm.sh          install (if needed), configure, start munged/slurmctld/slurmd, wait for idle
#   bash start-slurm.sh stop     stop the three daemons (by the PIDs in their pid files)
#
# Idempotent: a second run with the same settings does nothing except check the node.
# A changed config restarts the daemons.
# Settings (environment variables):
#   SLURM_CPUS  CPUs the node advertises (default: what slurmd -C finds). A value above
#               the real count is allowed (SlurmdParameters=config_overrides), so rules with
#               threads > nproc can still be scheduled.
#   FAKE_GPUS   number of fake GPUs as gres/gpu (default 1; 0 = none). Jobs asking for
#               --gpus=N / --gres=gpu:N are scheduled and get CUDA_VISIBLE_DEVICES=0..N-1.
# Layout: partitions "cpu" (default) and "gpu", the same single node in both.
#   No accounting (no slurmdbd): sacct returns an error. Run Snakemake's slurm executor with
#   slurm-status-command: squeue.
set -euo pipefail


alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_daemons() {
  local f p
  for f in /run/slurmd.pid /run/slurmctld.pid /run/munge/munged.pid; do
    if alive "$f"; then
      p=$(cat "$f"); kill "$p"
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$f"
  done
}

if [ "${1:-}" = stop ]; then stop_daemons; exit 0; fi

# 1. packages (3.2 MB download; 6-15 s here including apt-get update)
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
   || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

NODE=$(hostname -s)
getent hosts "$NODE" >/dev/null || echo "127.0.0.1 $NODE" >> /etc/hosts

# 2. munge: key (the Debian postinst normally made one), then the daemon as user munge
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge
chown munge:munge /run/munge /var/lib/munge /var/log/munge; chmod 755 /run/munge
if ! alive /run/munge/munged.pid; then
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n </dev/null | unmunge >/dev/null

# 3. configuration
HW=$(slurmd -C | head -1)
HW_CPUS=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$HW")
HW_MEM=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$HW")
CPUS=${SLURM_CPUS:-$HW_CPUS}
MEM=$(( HW_MEM * 9 / 10 ))          # a bit under what slurmd -C reports
NGPU=${FAKE_GPUS:-1}

mkdir -p /var/lib/slurm/slurmctld /var/lib/slurm/slurmd /var/log/slurm /etc/slurm

GRES_NODE=""; GRES_LINE=""
if [ "$NGPU" -gt 0 ]; then
  # gres/gpu drops a GPU without File= ("Removing file-less GPU"), and File= must be a
  # character device: make N char devices (same major/minor as /dev/null), names end 0..N-1.
  mkdir -p /var/lib/slurm/fakegpu
  ok=1
  for i in $(seq 0 $((NGPU - 1))); do
    f=/var/lib/slurm/fakegpu/gpu$i
    [ -c "$f" ] || { rm -f "$f"; mknod -m 666 "$f" c 1 3 2>/dev/null || { ok=0; break; }; }
  done
  if [ "$ok" = 1 ]; then
    GRES_LINE="NodeName=$NODE Name=gpu File=/var/lib/slurm/fakegpu/gpu[0-$((NGPU - 1))]"
  else                              # no mknod (unprivileged container): one GPU on /dev/null
    NGPU=1; GRES_LINE="NodeName=$NODE Name=gpu File=/dev/null"
  fi
  GRES_NODE="Gres=gpu:$NGPU"
fi

new_conf=$(cat <<EOF
# written by start-slurm.sh
ClusterName=ci
SlurmctldHost=$NODE
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
MailProg=/bin/true
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SchedulerType=sched/backfill
SchedulerParameters=sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# keep finished jobs visible to squeue for 5 min (Snakemake's squeue status mode needs it)
MinJobAge=300
DefMemPerCPU=1000
GresTypes=gpu
NodeName=$NODE CPUs=$CPUS RealMemory=$MEM $GRES_NODE State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=$NODE Default=NO MaxTime=INFINITE State=UP
EOF
)
new_gres=$(printf 'AutoDetect=off\n%s\n' "$GRES_LINE")

changed=0
if [ "$new_conf" != "$(cat /etc/slurm/slurm.conf 2>/dev/null)" ]; then
  printf '%s\n' "$new_conf" > /etc/slurm/slurm.conf; changed=1
fi
if [ "$new_gres" != "$(cat /etc/slurm/gres.conf 2>/dev/null)" ]; then
  printf '%s\n' "$new_gres" > /etc/slurm/gres.conf; changed=1
fi

# 4. daemons (both fork into the background and write their pid files)
if [ "$changed" = 1 ]; then
  for f in /run/slurmd.pid /run/slurmctld.pid; do
    if alive "$f"; then p=$(cat "$f"); kill "$p"
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; fi
  done
fi
if ! alive /run/slurmctld.pid; then
  # -c: start from a clean state (no jobs or node state left from an older config)
  slurmctld -c
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
fi
alive /run/slurmd.pid || slurmd

# 5. wait until the node takes jobs
state=""
for _ in $(seq 120); do
  state=$(sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1 || true)
  case "$state" in
    idle|mixed|allocated|completing) break ;;
    drain*|down*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
case "$state" in
  idle|mixed|allocated|completing) ;;
  *) echo "start-slurm.sh: node $NODE is '$state', not ready" >&2
     scontrol show node "$NODE" >&2 || true
     tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
     exit 1 ;;
esac
timeout 60 srun -N1 -n1 -t 1 true

echo "slurm $(sinfo -V | awk '{print $2}') ready: node $NODE state=$state cpus=$CPUS mem=${MEM}M gpus=$NGPU" \
     "pids munged=$(cat /run/munge/munged.pid) slurmctld=$(cat /run/slurmctld.pid) slurmd=$(cat /run/slurmd.pid)"
