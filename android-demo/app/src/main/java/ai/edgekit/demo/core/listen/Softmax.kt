package ai.edgekit.demo.core.listen

import ai.edgekit.demo.core.npy.PairwiseSum

/**
 * The probabilities of `classify`'s logits as `edgekit.device.learner.Learner.probabilities`
 * computes them: a softmax of each row over the live slots, in float32, step by step as numpy
 * does it (the row's largest logit subtracted, exp, the row summed pairwise, divided).
 *
 * The program gives a slot whose mask is 0 a logit about 1e4 below the others, whose exp is 0
 * in float32; here such a slot is 0 without being computed, which is the same value and does
 * not lean on how far down the program pushed it. No temperature divides the logits: the
 * manifest's `temperature` is `distill_step`'s, and Python's inference uses none.
 *
 * numpy's float32 exp (SIMD on x86) and Java's differ by a few units in the last place, so a
 * probability matches Python's to within a few float32 ulps, not bit for bit.
 */
object Softmax {
    /** The probabilities `(n, slots)` of [logits] `(n, slots)` over the slots [mask] keeps
     * (1 live, 0 not; `slots = mask.size`, at least one live). */
    fun probabilities(logits: FloatArray, n: Int, mask: FloatArray): FloatArray {
        val slots = mask.size
        require(n >= 0 && logits.size == n * slots) { "${logits.size} logits are not $n x $slots" }
        require(mask.any { it != 0f }) { "no live slot in the mask" }
        val out = FloatArray(logits.size)
        for (row in 0 until n) {
            val base = row * slots
            var top = Float.NEGATIVE_INFINITY
            for (j in 0 until slots) if (mask[j] != 0f) top = maxOf(top, logits[base + j])
            for (j in 0 until slots) {
                if (mask[j] == 0f) continue
                val shifted = logits[base + j] - top // float32, as numpy subtracts
                out[base + j] = Math.exp(shifted.toDouble()).toFloat()
            }
            val sum = PairwiseSum.of(out, base, slots)
            for (j in 0 until slots) out[base + j] /= sum
        }
        return out
    }
}
