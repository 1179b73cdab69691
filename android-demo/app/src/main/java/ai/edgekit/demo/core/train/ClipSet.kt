package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray

/**
 * Clips of the user's words as training takes them: each clip embedded once (its row of
 * [features], `(n, featureSize)` float32, what the program's `embed` returned for it) and the
 * word said in it ([words], one per row). Immutable: adding or removing clips gives a new set.
 */
class ClipSet(val features: NdArray.Float32, val words: List<String>) {
    init {
        val shape = features.shape
        require(shape.size == 2 && shape[1] > 0 && shape[0] == words.size) {
            "${words.size} words for features ${shape.toList()}"
        }
    }

    /** Clips in the set. */
    val size: Int get() = words.size

    /** float32 values per clip. */
    val featureSize: Int get() = features.shape[1]

    /** Clips per word, words in the order their first clip came. */
    fun counts(): Map<String, Int> = words.groupingBy { it }.eachCount()

    /** Indices of the clips of [word], ascending. */
    fun indicesOf(word: String): List<Int> = words.indices.filter { words[it] == word }

    /** The feature rows of the clips at [indices], in that order, `(indices.size, width)`. */
    fun rows(indices: List<Int>): NdArray.Float32 {
        val width = featureSize
        val out = FloatArray(indices.size * width)
        indices.forEachIndexed { k, i ->
            System.arraycopy(features.data, i * width, out, k * width, width)
        }
        return LearnerState.rows(out, width)
    }

    /** This set and one more clip of [word], its features [row] (finite, featureSize values). */
    fun plus(word: String, row: FloatArray): ClipSet {
        if (row.size != featureSize) {
            throw TrainingInputError("a clip has ${row.size} features, the bundle $featureSize")
        }
        if (!row.all { it.isFinite() }) {
            throw TrainingInputError("the clip's features hold NaN or Inf")
        }
        return ClipSet(LearnerState.rows(features.data + row, featureSize), words + word)
    }

    /**
     * This set and the clips of [other] it does not hold yet: a clip of [other] counts as held
     * when an unmatched clip here has its word and its features, bit for bit. Merging the same
     * clips twice adds them once; clips repeated within [other] are kept as often as they come.
     */
    fun merged(other: ClipSet): ClipSet {
        require(other.featureSize == featureSize) { "clips of ${other.featureSize} features" }
        val matched = BooleanArray(size)
        var out = this
        for (i in 0 until other.size) {
            val row = other.rows(listOf(i)).data
            val same = indicesOf(other.words[i]).firstOrNull { !matched[it] && sameRow(it, row) }
            if (same != null) matched[same] = true else out = out.plus(other.words[i], row)
        }
        return out
    }

    /** This set without the clips at [indices]. */
    fun without(indices: Collection<Int>): ClipSet {
        val drop = indices.toSet()
        return select(words.indices.filter { it !in drop })
    }

    private fun select(keep: List<Int>) = ClipSet(rows(keep), keep.map { words[it] })

    private fun sameRow(i: Int, row: FloatArray): Boolean {
        val width = featureSize
        return (0 until width).all { j ->
            features.data[i * width + j].toRawBits() == row[j].toRawBits()
        }
    }

    companion object {
        /** No clips, of [featureSize] features each. */
        fun empty(featureSize: Int) =
            ClipSet(LearnerState.rows(FloatArray(0), featureSize), emptyList())
    }
}
