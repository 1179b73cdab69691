package ai.edgekit.demo.core.train

import kotlin.math.ceil
import kotlin.math.min

/** The rows of one training batch: [user] indexes the user's rows, [pool] the pool's. */
class BatchRows(val user: IntArray, val pool: IntArray)

/**
 * Global dataset mixing (`edgekit.device.mixing`): every training batch mixes the user's clips
 * with pool rows (D0 and the replay set), drawn uniformly or by [fillingWeights] so that whole
 * batches come out class-balanced. Pure index arithmetic over a [Pcg64].
 */
object Mixing {
    /** `(user rows, pool rows)` per batch of [batch]: at least one user row per batch. The
     * pool's share rounds half to even, as Python's `round`. */
    fun splitBatch(batch: Int, mixRatio: Double, havePool: Boolean): Pair<Int, Int> {
        if (!(mixRatio >= 0.0 && mixRatio < 1.0)) {
            throw TrainingInputError("mix ratio must be in [0, 1), got $mixRatio")
        }
        require(batch >= 1) { "a batch holds at least one row, not $batch" }
        val pool = if (havePool) min(batch - 1, Math.rint(batch * mixRatio).toInt()) else 0
        return batch - pool to pool
    }

    /** Batches in one epoch of [nUser] user rows: `ceil(nUser / user rows per batch)`. */
    fun steps(nUser: Int, nPool: Int, batch: Int, mixRatio: Double): Int {
        val (perUser, _) = splitBatch(batch, mixRatio, nPool > 0)
        return ceil(nUser.toDouble() / perUser).toInt()
    }

    /**
     * One epoch of batches, each exactly [batch] rows: every user row once, in a random order,
     * the last batch topped up with random user rows (the program's batch is fixed); pool rows
     * drawn uniformly from `0 until nPool`, or with probabilities [poolWeights] (one per pool
     * row, >= 0).
     */
    fun mixedBatches(
        nUser: Int,
        nPool: Int,
        batch: Int,
        mixRatio: Double,
        rng: Pcg64,
        poolWeights: DoubleArray? = null,
    ): List<BatchRows> {
        if (nUser < 1) throw TrainingInputError("no user clips to train on: record at least one")
        if (poolWeights != null && poolWeights.size != nPool) {
            throw TrainingInputError("${poolWeights.size} pool weights for $nPool pool rows")
        }
        val (perUser, perPool) = splitBatch(batch, mixRatio, nPool > 0)
        val order = rng.permutation(nUser)
        return List(steps(nUser, nPool, batch, mixRatio)) { step ->
            val start = step * perUser
            val user = IntArray(perUser) { i ->
                if (start + i < nUser) order[start + i] else rng.below(nUser)
            }
            val pool = when {
                perPool == 0 -> IntArray(0)
                poolWeights == null -> IntArray(perPool) { rng.below(nPool) }
                else -> rng.choice(poolWeights, perPool)
            }
            BatchRows(user, pool)
        }
    }

    /**
     * Draw probabilities for the pool (one per row of [poolLabels]) that make whole batches
     * class-balanced: the user's rows fill [userShare] of each batch with their own classes
     * ([userLabels]), the pool fills the rest toward an equal share for every class, or the
     * relative [mass] given for it. Python's `filling_weights`, in float64.
     */
    fun fillingWeights(
        poolLabels: LongArray,
        userLabels: LongArray,
        userShare: Double,
        mass: Map<Long, Double> = emptyMap(),
    ): DoubleArray {
        if (poolLabels.isEmpty()) throw TrainingInputError("no labels to balance")
        val classes = (poolLabels.toSortedSet() + userLabels.toSortedSet()).sorted()
        val shares = classes.map { mass[it] ?: 1.0 }
        val total = shares.sum()
        val target = shares.map { it / total }
        val inPool = poolLabels.toSet()
        val need = DoubleArray(classes.size) { i ->
            val user = if (userLabels.isEmpty()) {
                0.0
            } else {
                userLabels.count { it == classes[i] }.toDouble() / userLabels.size
            }
            if (classes[i] in inPool) maxOf(target[i] - userShare * user, 0.0) else 0.0
        }
        if (need.sum() <= 0) {
            for (i in classes.indices) need[i] = if (classes[i] in inPool) target[i] else 0.0
        }
        val counts = poolLabels.groupBy { it }.mapValues { it.value.size }
        val byClass = classes.indices.associate { classes[it] to need[it] }
        val weights = DoubleArray(poolLabels.size) { i ->
            byClass.getValue(poolLabels[i]) / counts.getValue(poolLabels[i])
        }
        val sum = weights.sum()
        return DoubleArray(weights.size) { weights[it] / sum }
    }
}
