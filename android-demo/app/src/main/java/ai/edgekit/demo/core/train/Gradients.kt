package ai.edgekit.demo.core.train

import kotlin.math.sqrt

/**
 * The checks and the clipping a step's gradients go through before the optimizer sees them
 * (`JointMethod.step`): a step whose loss or any gradient value is NaN or Inf is never applied,
 * and gradients whose global L2 norm is above the clip bound are scaled down to it, so that one
 * batch of unusual clips (loud, out of distribution) cannot throw the head off.
 */
object Gradients {
    /** Whether the loss and every gradient value are finite: whether the step may apply. */
    fun finite(step: StepGradients): Boolean =
        step.loss.isFinite() && step.gradients.values.all { g -> g.all { it.isFinite() } }

    /** The L2 norm of all [gradients] together, accumulated in double. */
    fun globalNorm(gradients: Map<String, FloatArray>): Double {
        var sum = 0.0
        for (g in gradients.values) {
            for (v in g) sum += v.toDouble() * v
        }
        return sqrt(sum)
    }

    /** [gradients] scaled by `clipNorm / norm` when their global norm is above [clipNorm]
     * (> 0); the same arrays when not, or when [clipNorm] is null. */
    fun clip(gradients: Map<String, FloatArray>, clipNorm: Double?): Map<String, FloatArray> {
        if (clipNorm == null) return gradients
        val norm = globalNorm(gradients)
        if (norm <= clipNorm) return gradients
        val scale = (clipNorm / norm).toFloat()
        return gradients.mapValues { (_, g) -> FloatArray(g.size) { g[it] * scale } }
    }
}
