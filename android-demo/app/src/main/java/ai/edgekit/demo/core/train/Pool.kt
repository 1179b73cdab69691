package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray

/**
 * The rows mixed into every `train_step` batch beside the user's clips
 * (`edgekit.device.training.Pool`): D0 and the added examples of the live slots, then the
 * replay set's rows of the live slots. [features] are `(size, width)` flat, [slots] the class
 * slot of each row; [realSlots] are the slots with a real clip (D0's or the user's), the others
 * being known only from added examples.
 */
class Pool(
    val features: FloatArray,
    val slots: LongArray,
    val realSlots: LongArray,
    val width: Int,
) {
    val size: Int get() = slots.size

    init {
        require(features.size == slots.size * width) { "pool rows and slots differ in number" }
    }

    /** Draw probabilities that make whole batches class-balanced ([Mixing.fillingWeights]); a
     * class known only from added examples gets [addedClassMass] of a share. Null: no pool. */
    fun weights(targets: LongArray, batch: Int, mixRatio: Double, addedClassMass: Double):
        DoubleArray? {
        if (size == 0) return null
        val real = realSlots.toSet()
        val mass = slots.filter { it !in real }.associateWith { addedClassMass }
        val userShare = Mixing.splitBatch(batch, mixRatio, true).first.toDouble() / batch
        return Mixing.fillingWeights(slots, targets, userShare, mass)
    }

    /** One epoch of batches: every row of [user] (with its slot in [targets]) once, pool rows
     * drawn by [rng] (by [weights] if given), each batch user rows first, then pool rows. */
    fun batches(
        user: NdArray.Float32,
        targets: LongArray,
        batch: Int,
        mixRatio: Double,
        rng: Pcg64,
        weights: DoubleArray?,
    ): Sequence<TrainBatch> {
        val n = targets.size
        require(user.shape.contentEquals(intArrayOf(n, width))) {
            "user features ${user.shape.toList()} are not ($n, $width)"
        }
        val epoch = Mixing.mixedBatches(n, size, batch, mixRatio, rng, weights)
        return epoch.asSequence().map { rows ->
            val x = FloatArray(batch * width)
            val y = LongArray(batch)
            rows.user.forEachIndexed { i, row ->
                System.arraycopy(user.data, row * width, x, i * width, width)
                y[i] = targets[row]
            }
            val offset = rows.user.size
            rows.pool.forEachIndexed { i, row ->
                System.arraycopy(features, row * width, x, (offset + i) * width, width)
                y[offset + i] = slots[row]
            }
            TrainBatch(x, y)
        }
    }

    companion object {
        /** The pool of [state] over D0 ([d0Features] `(n, width)`, [d0Labels]), restricted to
         * the [live] slots. */
        fun of(
            d0Features: NdArray.Float32,
            d0Labels: NdArray.Int64,
            state: LearnerState,
            live: IntArray,
        ): Pool {
            val width = d0Features.shape[1]
            val keep = live.map { it.toLong() }.toSet()
            val parts = listOf(
                d0Features to d0Labels,
                state.globalFeatures to state.globalLabels,
                state.replayFeatures to state.replayLabels,
            )
            val x = ArrayList<FloatArray>()
            val y = ArrayList<Long>()
            for ((features, labels) in parts) {
                require(features.size == labels.size * width) { "features are not rows of $width" }
                labels.data.forEachIndexed { row, slot ->
                    if (slot in keep) {
                        x += features.data.copyOfRange(row * width, (row + 1) * width)
                        y += slot
                    }
                }
            }
            val flat = FloatArray(x.size * width)
            x.forEachIndexed { i, row -> System.arraycopy(row, 0, flat, i * width, width) }
            val real = d0Labels.data + state.replayLabels.data
            return Pool(flat, y.toLongArray(), real, width)
        }
    }
}
