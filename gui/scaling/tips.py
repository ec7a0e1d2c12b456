"""Plain-words explanations shown on hover over every figure of the Scaling tab."""

from __future__ import annotations

SPEEDUP = ("Speedup: how many times faster the training runs on N ranks than on one.\n"
           "It is the samples per second on N ranks divided by the samples per second on 1 rank.\n"
           "Perfect scaling would give a speedup of N (the dashed ideal line).")
EFFICIENCY = ("Efficiency: the speedup divided by the number of ranks.\n"
              "100% means every rank works as hard as a rank alone would; 50% means half of\n"
              "each rank's time goes into waiting and talking to the others.")
STRONG = ("Strong scaling: the same job (the same global batch) is split over more ranks.\n"
          "Each rank gets a smaller share, so talking to the others weighs more and more.")
WEAK = ("Weak scaling: each rank keeps the same share of work, so the global batch grows\n"
        "with the number of ranks. This is how large trainings use many GPUs.")
SERIAL_FRACTION = ("Serial fraction (Amdahl's law): the part of the work that does not get faster\n"
                   "with more ranks (talking, waiting, reading data). If a fraction f stays serial,\n"
                   "the speedup on N ranks is at most 1 / (f + (1 - f) / N), and never more than 1 / f.")
AMDAHL = ("Amdahl's law fitted to the measured speedups: the curve that a job with the\n"
          "shown serial fraction would follow.")
IDEAL = "Ideal: a speedup equal to the number of ranks (doubling the ranks doubles the speed)."
REFERENCE = ("The course's reference table (GPUs 1 to 128: 55 to 5562 images per second),\n"
             "divided by its own 1-GPU figure so that it shows speedup like your runs.")
COMMUNICATION = ("Communication: after every batch all ranks add up their gradients (Allreduce).\n"
                 "The message has the size of the whole model whatever the number of ranks, while\n"
                 "each rank's share of the batch shrinks: with more ranks a larger part of the\n"
                 "time goes into communication.")
COMPUTE = "Compute: time a rank spends on its own share of the batches (forward and backward pass)."
WAIT = ("Wait: time a rank sits at the Allreduce because another rank is not there yet.\n"
        "Shown when the engine records it per rank.")
STRAGGLER = ("A straggler is a rank that is clearly slower than the others (here: 20% slower\n"
             "than the median). Everyone waits for it at every Allreduce, so one slow rank\n"
             "slows the whole job down.")
TIMELINE = ("Per-rank timeline of the chosen row: for each rank, its seconds per epoch spent\n"
            "computing, communicating and waiting.\n\n" + COMMUNICATION + "\n\n" + STRAGGLER)
SAMPLES_PER_S = ("Samples per second: training rows processed per second by the whole job,\n"
                 "over every epoch but the first (which pays for start-up).")
PER_RANK = "Per rank: the samples per second divided by the number of ranks (the course's 'throughput per GPU')."
REPEAT = "Runs per rank count; the table shows the median, which is robust against one disturbed run."
MODE = STRONG + "\n\n" + WEAK
