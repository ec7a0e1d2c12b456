#!/bin/bash
# job.sh: a SLURM batch script written by ScaleLab.
# `sbatch job.sh` reads the #SBATCH lines before the job starts (to bash they are
# comments), waits in the queue until the resources are free, then runs the rest on
# the first node of the allocation.

#SBATCH --job-name=spiral-2ranks         # name shown by squeue
#SBATCH --nodes=2                        # number of computers (nodes)
#SBATCH --ntasks=4                       # number of MPI ranks in total
#SBATCH --ntasks-per-node=2              # MPI ranks on each node
#SBATCH --cpus-per-task=2                # CPU cores for each rank
#SBATCH --time=1-02:00:00                # wall-clock limit; the job is stopped after it
#SBATCH --partition=batch                # the queue to wait in
#SBATCH --account=training2406           # the budget the job is billed to
#SBATCH --reservation=course_day1        # run inside this booked block of nodes
#SBATCH --qos=normal                     # quality of service (limits and priority)
#SBATCH --gpus=4                         # GPUs for the whole job
#SBATCH --mem=4G                         # memory per node
#SBATCH --mail-user=student@example.org  # e-mail address for notifications
#SBATCH --mail-type=END,FAIL             # which events send e-mail
#SBATCH --output=slurm-%j.out            # standard output file (%j = job id)
#SBATCH --error=slurm-%j.err             # error output file (%j = job id)

# Stop at the first command that fails.
set -e

JOB_DIR=/p/home/jusers/train004/scalelab/20260101-120000-spiral-abc123
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

# Environment setup (modules, virtual environments) from the profile.
module load GCC ParaStationMPI SciPy-Stack mpi4py

# A first line in the output file, so it shows at once where and when the job started.
echo "ScaleLab job${SLURM_JOB_ID:+ $SLURM_JOB_ID} on $(hostname): 4 ranks, started $(date '+%F %T')"

# srun starts one copy of the program per task (--ntasks); --mpi=pmix lets the copies find each other as one MPI world.
srun --mpi=pmix python3 -m engine train spec.json --out .
echo "Finished $(date '+%F %T'): metrics.jsonl, model.npz and result.json are in $JOB_DIR"
