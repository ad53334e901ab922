#!/usr/bin/env bash
# sbatch --array=0-7 examples/cluster/slurm_workers.sh examples/digits.yaml [KEY=VALUE ...]
#
# One study on many machines through PostgreSQL: array task 0 (the lowest index) runs
# `honed tune`, which creates the study and, when it is finished, writes the results into
# $HONED_OUT/tune; every other task runs `honed worker`, which waits for the study and then
# takes trials until it holds enough. A task killed or pre-empted mid-trial loses nothing:
# its trial runs again elsewhere within about 12 seconds (SIGTERM queues it at once).
#
# Before sbatch:  export HONED_STORAGE=postgresql://honed@dbhost:5432/honed
# with the password in ~/.pgpass or $PGPASSWORD, never in the URL (every user of a node can
# read a process's arguments). $HONED_OUT is where results and trial folders go (default
# runs/slurm-JOBID); on a shared file system the best trial's model is readable from anywhere.
# GPUs: each task gets its own (--gpus-per-task); with search.gpus_per_trial: K ask for K.
# Try it without Slurm: SLURM_ARRAY_TASK_ID=0 bash examples/cluster/slurm_workers.sh SPEC &
#                       SLURM_ARRAY_TASK_ID=1 bash examples/cluster/slurm_workers.sh SPEC
#SBATCH --job-name=honed-study
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=4
#SBATCH --gpus-per-task=1
#SBATCH --time=04:00:00
#SBATCH --output=honed-%A_%a.log
set -euo pipefail

spec="${1:?usage: sbatch --array=0-N slurm_workers.sh SPEC [KEY=VALUE ...]}"
shift
: "${HONED_STORAGE:?set HONED_STORAGE to the PostgreSQL URL of the study (password in ~/.pgpass)}"
task="${SLURM_ARRAY_TASK_ID:?run under sbatch --array, or set SLURM_ARRAY_TASK_ID}"
out="${HONED_OUT:-runs/slurm-${SLURM_ARRAY_JOB_ID:-local}}"
honed="${HONED:-honed}"  # e.g. HONED="python -m honed.cli.main" in a source checkout

if [ "$task" = "${SLURM_ARRAY_TASK_MIN:-0}" ]; then
    exec $honed tune "$spec" "$@" --storage "$HONED_STORAGE" --out "$out/tune" --quiet
fi
# honed worker reads $HONED_STORAGE itself; --wait: array tasks start in any order
exec $honed worker "$spec" "$@" --out "$out/worker-$task" --wait 10m \
    --threads "${SLURM_CPUS_PER_TASK:-1}"
