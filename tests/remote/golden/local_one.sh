#!/bin/bash
# job.sh: a SLURM batch script written by ScaleLab.
# `sbatch job.sh` reads the #SBATCH lines before the job starts (to bash they are
# comments), waits in the queue until the resources are free, then runs the rest on
# the first node of the allocation.

#SBATCH --job-name=local-run             # name shown by squeue
#SBATCH --nodes=1                        # number of computers (nodes)
#SBATCH --ntasks=1                       # number of MPI ranks in total
#SBATCH --output=job-local.out           # standard output file (%j = job id)

# Stop at the first command that fails.
set -e

JOB_DIR='/tmp/jobs/a'"'"'b'
# Write the script's exit status into the job folder when it ends, however it ends,
# so the outcome is known even after SLURM has forgotten the job.
trap 'echo $? > "$JOB_DIR/exit_status"' EXIT
# scancel sends SIGTERM: leave through the EXIT trap above with status 143.
trap 'exit 143' TERM
cd "$JOB_DIR"

# The engine's source was copied into the job folder: make it importable.
export PYTHONPATH="$JOB_DIR${PYTHONPATH:+:$PYTHONPATH}"
# One BLAS thread per core given to each rank, so ranks do not fight over cores.
export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}

# A first line in the output file, so it shows at once where and when the job started.
echo "ScaleLab job${SLURM_JOB_ID:+ $SLURM_JOB_ID} on $(hostname): 1 rank, started $(date '+%F %T')"

# One process trains the model (no MPI).
/usr/bin/python3 -m engine train spec.json --out .
echo "Finished $(date '+%F %T'): metrics.jsonl, model.npz and result.json are in $JOB_DIR"
