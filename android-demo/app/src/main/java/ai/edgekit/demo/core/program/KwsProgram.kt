package ai.edgekit.demo.core.program

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.bundle.TensorSpec
import ai.edgekit.demo.core.npy.NdArray

/**
 * The inference methods of a bundle's program as the app calls them (`edgekit.device.program`):
 * ExecuTorch on the phone (`ai.edgekit.demo.runtime.EtProgram`). Features travel as flat
 * `(n, featureSize)` float32 rows, what the feature cache stores; [FeatureParts] turns them into
 * the tensors of the cut and back.
 */
interface KwsProgram : AutoCloseable {
    val manifest: Manifest

    /** Features `(n, featureSize)` of `n <= maxBatch` windows of PCM, `(n, clipSamples)`. */
    fun embed(pcm: FloatArray, n: Int): FloatArray

    /** Logits `(n, maxClasses)` of `classify` for `n <= maxBatch` feature rows, with the
     * trainable [weights] in the manifest's order and [mask] (1 for live slots, else 0). */
    fun classify(
        features: FloatArray,
        n: Int,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): FloatArray
}

/** Flat feature rows and the per-part tensors of the cut (`flatten_parts` / `parts`). */
object FeatureParts {
    /** Each part of [features] `(n, featureSize)` as `(n, *part.shape)` values, in order. */
    fun split(features: FloatArray, n: Int, parts: List<TensorSpec>): List<FloatArray> {
        val width = parts.sumOf { it.size }
        require(features.size == n * width) { "${features.size} values are not $n rows of $width" }
        var offset = 0
        return parts.map { part ->
            val out = FloatArray(n * part.size)
            for (row in 0 until n) {
                System.arraycopy(features, row * width + offset, out, row * part.size, part.size)
            }
            offset += part.size
            out
        }
    }

    /** The rows `(n, featureSize)` of [parts] (each `(n, *shape)`), concatenated per row. */
    fun join(parts: List<FloatArray>, n: Int): FloatArray {
        val rows = maxOf(n, 1)
        require(parts.all { it.size % rows == 0 }) { "a part does not split into $n rows" }
        val sizes = parts.map { it.size / rows }
        val width = sizes.sum()
        val out = FloatArray(n * width)
        var offset = 0
        parts.forEachIndexed { p, part ->
            val size = sizes[p]
            for (row in 0 until n) {
                System.arraycopy(part, row * size, out, row * width + offset, size)
            }
            offset += size
        }
        return out
    }

    /** Shape `(n, *spec.shape)` as ExecuTorch takes it. */
    fun shape(n: Int, spec: TensorSpec): LongArray =
        LongArray(1 + spec.shape.size) { if (it == 0) n.toLong() else spec.shape[it - 1].toLong() }
}
