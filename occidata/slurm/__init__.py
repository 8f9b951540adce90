"""Slurm mode (issue 17): what a lab asks of Slurm, what Slurm says back, and the checks of the head node.

- :mod:`occidata.slurm.requests`: a profile's Slurm request (partition, cores, memory, wall time, GPUs)
  and the sbatch options it becomes;
- :mod:`occidata.slurm.queue`: Slurm's job states and reasons read from ``squeue``/``sinfo``, in French.
"""
