"""The Vectorization view: the course's dot-product example (Python loop, np.dot, MPI) measured live."""
