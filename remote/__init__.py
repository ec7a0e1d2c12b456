"""Run ScaleLab specs on a SLURM cluster over SSH (or locally) and stream their metrics back.

Never imports Qt: everything here is also a command of ``python -m remote``.
"""
