package ai.edgekit.demo.core.listen

/**
 * 16-bit PCM (what `AudioRecord` gives with `ENCODING_PCM_16BIT`) as the float samples the
 * program's `embed` takes, read as the Python SDK reads a 16-bit file: `soundfile` (libsndfile)
 * scales each sample by 1/32768, so -32768 becomes -1 and 32767 becomes 1 - 2^-15. Every
 * 16-bit value times a power of two is exact in float32: no rounding, no clipping.
 */
object Pcm16 {
    /** The factor libsndfile applies to a 16-bit sample read as float (1 / 0x8000). */
    const val SCALE = 1f / 32_768f

    /** Writes [n] samples of [source] from [from] as floats into [target] from [at]. */
    fun toFloat(source: ShortArray, from: Int, n: Int, target: FloatArray, at: Int) {
        require(n >= 0 && from >= 0 && from + n <= source.size) { "no $n samples from $from" }
        require(at >= 0 && at + n <= target.size) { "no room for $n samples at $at" }
        for (i in 0 until n) target[at + i] = source[from + i] * SCALE
    }

    /** All of [source] as floats. */
    fun toFloat(source: ShortArray): FloatArray =
        FloatArray(source.size).also { toFloat(source, 0, source.size, it, 0) }
}
