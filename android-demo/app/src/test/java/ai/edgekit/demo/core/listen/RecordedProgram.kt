package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.KwsProgram
import java.util.Arrays
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertTrue
import kotlin.test.fail

/**
 * The bundle's program as the Python runtime ran it on the fixture stream (ExecuTorch has no
 * runtime on this JVM): for each window Python embedded, the features it returned, and for those
 * features with [run]'s mask and weights, the logits `classify` returned. It answers only what
 * was recorded: a window that is not one of Python's, out of stream order, or `classify` with
 * other features, another mask or other weights fails the test.
 */
class RecordedProgram(private val run: ListenData.Run) : KwsProgram {
    override val manifest: Manifest = ListenData.manifest

    /** Windows per `embed` call, in call order. */
    val batches = ArrayList<Int>()

    private val clip = manifest.clipSamples
    private val width = manifest.featureSize
    private val slots = manifest.maxClasses
    private val features = ListenData.features.data
    private val windows = ListenData.windows.data
    private var next = 0 // the next of Python's windows a call may start from
    private var embedded = IntArray(0) // Python's index of each window of the last embed call

    override fun embed(pcm: FloatArray, n: Int): FloatArray {
        assertTrue(n in 1..manifest.maxBatch, "embed takes 1..${manifest.maxBatch}, not $n")
        assertEquals(n * clip, pcm.size)
        batches += n
        embedded = IntArray(n) { row ->
            val k = (next until ListenData.windowCount).firstOrNull { same(pcm, row, it) }
                ?: fail("window ${batches.size}:$row is none of Python's windows from $next on")
            next = k + 1
            k
        }
        return rows(features, width)
    }

    override fun classify(
        features: FloatArray,
        n: Int,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): FloatArray {
        assertEquals(embedded.size, n, "classify takes the rows embed gave")
        assertContentEquals(rows(this.features, width), features, "the features embed gave")
        assertContentEquals(run.mask, mask, "the mask of the ${run.name} run")
        assertEquals(run.weights.size, weights.size)
        for ((want, got) in run.weights.zip(weights)) {
            assertContentEquals(want.data, got.data, "the weights of the ${run.name} run")
        }
        return rows(run.logits.data, slots)
    }

    override fun close() = Unit

    private fun rows(source: FloatArray, size: Int): FloatArray {
        val out = FloatArray(embedded.size * size)
        embedded.forEachIndexed { row, k ->
            System.arraycopy(source, k * size, out, row * size, size)
        }
        return out
    }

    /** Row [row] of [pcm] is Python's window [k], bit for bit. */
    private fun same(pcm: FloatArray, row: Int, k: Int): Boolean {
        val from = row * clip
        return Arrays.equals(pcm, from, from + clip, windows, k * clip, (k + 1) * clip)
    }
}
