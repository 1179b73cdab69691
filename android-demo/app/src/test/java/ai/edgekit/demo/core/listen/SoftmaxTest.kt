package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.PairwiseSum
import org.junit.Test
import kotlin.test.assertEquals

/**
 * The softmax of `Learner.probabilities` on real logits: the bundle's program on D0's features
 * (every label live, then one not live, which the program masks), on every window of the
 * stream for both runs, and wide rows (12 slots, some masked) given to Python's own function.
 * numpy's float32 exp and Java's differ by a few units in the last place: that is the bound.
 */
class SoftmaxTest {
    private val ulps = 4

    @Test
    fun `probabilities of the program's logits are Python's`() {
        val arrays = ListenData.arrays("listen_softmax.npz")
        for (case in listOf("all", "masked", "wide")) {
            val logits = arrays.getValue("${case}_logits") as NdArray.Float32
            val mask = (arrays.getValue("${case}_mask") as NdArray.Float32).data
            val python = (arrays.getValue("${case}_probabilities") as NdArray.Float32).data
            val kotlin = Softmax.probabilities(logits.data, logits.shape[0], mask)
            ListenData.assertUlps(python, kotlin, ulps, case)
            val slots = mask.size
            for (i in kotlin.indices) {
                if (mask[i % slots] == 0f) assertEquals(0f, kotlin[i], "$case: masked slot")
            }
        }
        assertEquals(2, (arrays.getValue("masked_mask") as NdArray.Float32).data.count { it == 1f })
    }

    @Test
    fun `every window of the stream, each run, gets Python's posteriors`() {
        for (run in ListenData.runs) {
            val n = run.logits.shape[0]
            val kotlin = Softmax.probabilities(run.logits.data, n, run.mask)
            ListenData.assertUlps(run.probabilities.data, kotlin, ulps, run.name)
        }
    }

    @Test
    fun `rows are summed in numpy's pairwise order`() {
        // eight 2^-24 then 1: one by one they make 2^-21 before the 1 comes (1 + 4 * 2^-23);
        // numpy's eight partial sums meet the 1 in the first of them, where 2^-24 is lost
        val row = FloatArray(8) { 1f / (1 shl 24) } + 1f + FloatArray(7)
        assertEquals(1f + 3f / (1 shl 23), PairwiseSum.of(row, 0, row.size))
    }
}
