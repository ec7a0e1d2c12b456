"""The Vectorization view's explanation, in plain words (rich text for a QLabel)."""

EXPLANATION = """
<p><b>What is measured.</b> The dot product of two vectors of n numbers,
<code>a[0]*b[0] + a[1]*b[1] + ...</code>, three ways: a Python loop
(<code>for i in range(n): s += a[i] * b[i]</code>), one NumPy call (<code>np.dot(a, b)</code>),
and split over MPI processes (each computes <code>np.dot</code> of its half, then one
<code>Allreduce</code> adds the halves). Each time is the best of several runs.</p>

<p><b>Interpreter overhead.</b> In the loop, Python does the same bookkeeping for every
element: it fetches <code>a[i]</code> and <code>b[i]</code>, wraps each number in a new
Python object, looks up how to multiply and add them, and checks the loop. That costs tens
of nanoseconds for one multiplication the processor could do in well under one.</p>

<p><b>SIMD and BLAS.</b> <code>np.dot</code> enters compiled code once: the BLAS library's
<code>ddot</code>, a tight loop over the raw numbers that uses the processor's SIMD
instructions, each multiplying and adding 4 or 8 numbers at once. Hence a speedup of
hundreds to thousands of times; for small n, the fixed cost of the call itself dominates.</p>

<p><b>Memory bandwidth.</b> Once the vectors no longer fit in the processor's caches
(a few million numbers), <code>np.dot</code> waits for memory, not for arithmetic: every
element means 16 bytes read, and the time grows with the bytes.</p>

<p><b>MPI.</b> Two processes each read half the numbers, but their results must be sent
and added. For small n that message costs more than the work it saves; for large n it can
pay off, when each process has a core, and memory bandwidth, of its own. On a machine whose
cores are busy with other work, a process waiting for the message can lose its turn on the
core for milliseconds: the MPI times then say more about the machine than about MPI.</p>
"""
