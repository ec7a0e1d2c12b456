"""The real test cluster (sshd + single-node SLURM) the integration tests start."""
