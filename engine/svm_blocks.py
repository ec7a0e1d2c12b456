"""SMO on a working set of many variables: the solver for large binary problems.

libsvm's SMO (:func:`engine.svm.smo_binary`) changes two multipliers per iteration and
then passes over every row: it selects among them and updates the gradient with two
kernel rows. On a few thousand rows an iteration is a dozen passes over short vectors,
and that per-iteration cost, not arithmetic, is what it spends its time on.

Here (the decomposition of Joachims' SVMlight as ThunderSVM runs it) every outer step
picks ``q`` variables at once, the most violating ones, alternately from the top of the
upper set and of the lower set, keeping the newer half of the previous set:

1. their kernel rows against this rank's rows come from the row cache (the misses as one
   matrix product), and their ``q x q`` kernel block is computed directly;
2. SMO with second-order selection runs *inside* the set, on vectors of length ``q``,
   until the set's own violation falls under ``max(tol, INNER_FRACTION x`` the whole
   problem's violation), at most ``INNER_LIMIT x q`` steps;
3. the gradient of every row is updated once, with one matrix-vector product of the
   changes and the set's rows.

It stops on libsvm's criterion, over every row: the largest violation
``max_{I_up} -y_t G_t + max_{I_low} y_t G_t`` under ``tol``, so it reaches the same optimum
within ``tol``. An "iteration" counts steps inside the sets, libsvm's unit.

Data parallel: each rank keeps the gradient and kernel rows of its block of rows; an outer
step needs one all-gather (every rank's best candidates, merged in the same order
everywhere) and one sum of ``q`` numbers (the set's gradient). The inner SMO is the same
computation on every rank, so N ranks take exactly the steps of one.
"""

from __future__ import annotations

import math

import numpy as np

from .svm import (
    REPORT_EVERY,
    TAU,
    Kernel,
    binary_result,
    binary_setup,
    dual_objective,
    rho_and_objective,
    two_variable_step,
)

#: variables per working set
WORKING_SET = 64
#: the set's own SMO stops when its violation is under this fraction of the problem's
INNER_FRACTION = 0.1
#: and after at most this many steps per variable of the set
INNER_LIMIT = 4


def smo_working_set(kernel: Kernel, X: np.ndarray, y: np.ndarray, C: float, tol: float, max_iter: int,
                    cache_bytes: int, comm=None, progress=None, stop=None, pair_of=None,
                    report_every: int = REPORT_EVERY, size: int = WORKING_SET):
    """Solve one binary SVM dual; a generator that returns a :class:`~engine.svm.BinaryResult`.

    The parameters are :func:`engine.svm.smo_binary`'s (no shrinking: a selection is one
    pass over the rows per ``q`` variables), plus ``size``, the working set's ``q``.
    ``progress`` is called (and ``stop`` asked) after the outer step in which the count
    of iterations passes a multiple of ``report_every``.
    """
    comm, start, stop_row, cache, y_all = binary_setup(kernel, X, y, cache_bytes, comm, pair_of)
    n, m, parallel = len(y), stop_row - start, comm.size > 1
    yl = y_all[start:stop_row].copy()
    pos = yl > 0
    sq_all = cache.sq_all
    alpha = np.zeros(n)
    yG = -yl.copy()  # y_t G_t on this rank's rows, exact after every outer step
    up_mask = np.where(pos, 0.0, -np.inf)  # 0 on I_up (y_t a_t may grow), -inf elsewhere
    low_mask = np.where(pos, -np.inf, 0.0)  # 0 on I_low (y_t a_t may shrink)
    q = max(2, min(int(size), n))
    k = min(q, m)  # candidates per side and rank
    # The working set: slot s holds global row members[s] (-1: empty), its kernel row
    # against this rank's rows in KB[s]; age orders the slots by when they were filled.
    members = np.full(q, -1, np.int64)
    slot_of_row = np.full(n, -1, np.int64)
    age = np.zeros(q, np.int64)
    # float64: a float32 matrix-vector product rounds differently with the number of
    # columns, and N ranks must update each row's gradient exactly as one rank does
    KB = np.zeros((q, m))
    change = np.zeros(q)
    gather = np.empty(4 * k)
    got = np.empty((comm.size, 4 * k))
    set_grad = np.empty(q)
    limit = max_iter if max_iter > 0 else None
    it = outer = 0
    converged = stopped = False
    violation = math.inf
    reported = 0
    work_up, work_low = np.empty(m), np.empty(m)

    def current_rho() -> float:
        return rho_and_objective(alpha[start:stop_row], yl, yG, C, comm)[0]

    def best(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # This rank's k largest values and their global rows, ties to the lower row (so
        # that the union over ranks holds the k best of all rows in the same order).
        if k == 0:
            return np.full(0, -np.inf), np.zeros(0)
        part = np.argpartition(values, m - k)[m - k:]
        least = values[part].min()
        above = np.flatnonzero(values > least)
        rows = np.concatenate([above, np.flatnonzero(values == least)[:k - len(above)]])
        return values[rows], (start + rows).astype(np.float64)

    while True:
        # --- the whole problem's violation and the candidates for the set
        np.subtract(up_mask, yG, out=work_up)  # -y_t G_t on I_up
        np.add(low_mask, yG, out=work_low)  # y_t G_t on I_low
        gather[:k], gather[k:2 * k] = best(work_up)
        gather[2 * k:3 * k], gather[3 * k:] = best(work_low)
        if parallel:
            comm.allgather(gather, got)
            rows = got
        else:
            rows = gather.reshape(1, -1)
        up_v, up_r = rows[:, :k].ravel(), rows[:, k:2 * k].ravel()
        low_v, low_r = rows[:, 2 * k:3 * k].ravel(), rows[:, 3 * k:].ravel()
        g_max = float(up_v.max()) if up_v.size else -math.inf
        g_max2 = float(low_v.max()) if low_v.size else -math.inf
        if g_max == -math.inf:
            converged, violation = True, 0.0  # I_up is empty: nothing can move
            break
        violation = g_max + g_max2
        if violation < tol:
            converged = True
            break
        if limit is not None and it >= limit:
            break
        # --- the new set: the newer half of the old one stays; new rows alternate between
        # the most violating of I_up and of I_low (ties: the lower row first)
        keep = np.zeros(q, bool)
        if outer > 0:
            newest = np.argsort(-age, kind="stable")[: q // 2]
            keep[newest[members[newest] >= 0]] = True
        new = _alternate(_ranked(up_v, up_r, slot_of_row, keep), _ranked(low_v, low_r, slot_of_row, keep),
                         q - int(keep.sum()))
        outer += 1
        # Slots: a new row still in the set (in its older half) stays where it is; the others
        # take the empty slots, then the oldest ones.
        s_new = slot_of_row[new]
        again = s_new >= 0
        keep[s_new[again]] = True
        age[s_new[again]] = outer
        fresh = new[~again]
        if fresh.size:
            free = np.flatnonzero(~keep)
            slots = free[np.argsort(age[free], kind="stable")][: fresh.size]
            gone = members[slots]
            slot_of_row[gone[gone >= 0]] = -1
            members[slots], age[slots], keep[slots] = fresh, outer, True
            slot_of_row[fresh] = slots
            cache.fetch(fresh, KB, slots)
        use = np.flatnonzero(keep)  # the set's slots
        B = members[use]
        # --- the set's gradient (each row's owner has it) and kernel block
        set_grad[:] = 0.0
        owned = (members >= start) & (members < stop_row) & keep
        set_grad[owned] = yG[members[owned] - start]
        if parallel:
            comm.allreduce_sum(set_grad)
        yGB = set_grad[use].copy()
        XB = X[B]
        QB = kernel.block(XB, XB, sq_all[B] if sq_all is not None else None,
                          sq_all[B] if sq_all is not None else None)
        # K_ii + K_tt - 2 K_it for every pair of the set, at least TAU (the second-order gain's
        # denominator), computed once for the inner steps
        diagB = QB.diagonal().copy()
        quad = diagB[:, None] + diagB[None, :]
        quad -= 2.0 * QB
        np.maximum(quad, TAU, out=quad)
        yB = y_all[B]
        aB = alpha[B].copy()
        upB = np.where(yB > 0, np.where(aB < C, 0.0, -np.inf), np.where(aB > 0, 0.0, -np.inf))
        lowB = np.where(yB > 0, np.where(aB > 0, 0.0, -np.inf), np.where(aB < C, 0.0, -np.inf))
        # --- SMO inside the set
        local_eps = max(tol, INNER_FRACTION * violation)
        b_size = len(B)
        w, gain, low_g = np.empty(b_size), np.empty(b_size), np.empty(b_size)
        pair = np.empty(2)
        steps = 0
        inner_limit = INNER_LIMIT * q
        if limit is not None:
            inner_limit = min(inner_limit, limit - it)
        y_list = yB.tolist()
        while steps < inner_limit:
            np.subtract(upB, yGB, out=w)
            i = int(w.argmax())
            gm = float(w[i])
            np.add(yGB, lowB, out=low_g)
            if gm + float(low_g[low_g.argmax()]) < local_eps:  # also when I_up is empty (-inf)
                break
            # j: the largest (g_max + y_t G_t)^2 / quad_it over I_low (-inf outside it gives 0)
            np.add(low_g, gm, out=gain)
            np.maximum(gain, 0.0, out=gain)
            gain *= gain
            gain /= quad[i]
            j = int(gain.argmax())
            if gain[j] <= 0.0:
                break
            y_i, y_j = y_list[i], y_list[j]
            old_i, old_j = float(aB[i]), float(aB[j])
            a_i, a_j = two_variable_step(old_i, old_j, y_i, y_j, y_i * float(yGB[i]), y_j * float(yGB[j]),
                                         float(quad[i, j]), C)
            aB[i], aB[j] = a_i, a_j
            # both rows of QB at once, as a strided view (i != j: a step moves two variables)
            if i < j:
                pair[0], pair[1] = (a_i - old_i) * y_i, (a_j - old_j) * y_j
                yGB += pair @ QB[i:j + 1:j - i]
            else:
                pair[0], pair[1] = (a_j - old_j) * y_j, (a_i - old_i) * y_i
                yGB += pair @ QB[j:i + 1:i - j]
            for t, at, yt in ((i, a_i, y_i), (j, a_j, y_j)):
                if yt > 0:
                    upB[t], lowB[t] = (0.0 if at < C else -np.inf), (0.0 if at > 0 else -np.inf)
                else:
                    upB[t], lowB[t] = (0.0 if at > 0 else -np.inf), (0.0 if at < C else -np.inf)
            steps += 1
        if steps == 0:
            converged = True  # the most violating pair cannot move: libsvm's gain test
            break
        it += steps
        # --- every row's gradient, once: y_t G_t += sum_s y_s (a_s' - a_s) K(x_s, x_t)
        change[:] = 0.0
        change[use] = (aB - alpha[B]) * yB
        alpha[B] = aB
        # (all q rows: a set moves most of its variables, and a product with a few zero
        # weights costs less than gathering the moved rows first)
        yG += change @ KB
        mine = B[(B >= start) & (B < stop_row)] - start
        al = alpha[mine + start]
        pm = pos[mine]
        up_mask[mine] = np.where(pm, np.where(al < C, 0.0, -np.inf), np.where(al > 0, 0.0, -np.inf))
        low_mask[mine] = np.where(pm, np.where(al > 0, 0.0, -np.inf), np.where(al < C, 0.0, -np.inf))
        if it // report_every > reported:
            reported = it // report_every
            if progress is not None:
                yield progress(it, violation, alpha, dual_objective(alpha[start:stop_row], yl, yG, comm), current_rho)
            if stop is not None and stop():
                stopped = True
                break

    return binary_result(alpha, yl, yG, C, comm, it, converged, stopped, violation)


def _ranked(values: np.ndarray, rows: np.ndarray, slot_of_row: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The candidates' rows (float-coded, gathered from every rank) best first, ties to the
    lower row, without those that stay in the set and those outside the index set (-inf)."""
    order = np.lexsort((rows, -values))
    order = order[values[order] > -np.inf]
    found = rows[order].astype(np.int64)
    slots = slot_of_row[found]
    return found[(slots < 0) | ~keep[np.maximum(slots, 0)]]


def _alternate(up: np.ndarray, low: np.ndarray, want: int) -> np.ndarray:
    """``want`` rows taken in turns from ``up`` and ``low`` (each best first), each once."""
    c = min(len(up), len(low))
    both = np.empty(2 * c, np.int64)
    both[0::2], both[1::2] = up[:c], low[:c]
    both = np.concatenate([both, up[c:], low[c:]])
    _, first = np.unique(both, return_index=True)
    return both[np.sort(first)][:want]
