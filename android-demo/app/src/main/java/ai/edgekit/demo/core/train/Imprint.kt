package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.bundle.TensorSpec
import ai.edgekit.demo.core.npy.NdArray
import kotlin.math.sqrt

/**
 * Weight imprinting of a new word (`edgekit.device.imprint`): its classifier column starts at
 * the mean of its clips' embeddings instead of the free slot's export-time weights.
 *
 * The embedding (the classifier's input) is not an output of the program, and need not be: with
 * the new slot's column zero and its bias [FAR] below the others', the cross-entropy gradient of
 * that column over a batch of the new word's clips is minus the mean of their embeddings. One
 * [JointStep.gradients] call gives it; the column is that mean, normalised and scaled to the
 * mean norm of the other live columns, and its bias the mean of their biases.
 */
object Imprint {
    /** Logits below the others by this much: a softmax probability of about 1e-13. */
    const val FAR = 30f

    /** The classifier's two trainable tensors: [weight] `(..., slots)` and [bias] `(slots,)`. */
    class Classifier(val weight: TensorSpec, val bias: TensorSpec) {
        val slots: Int get() = weight.shape.last()

        /** Values per column of [weight]: the classifier's inputs. */
        val inputs: Int get() = weight.size / slots
    }

    /** The classifier (it comes last in [trainable]) when the bundle's plan trains it whole
     * (its `weight_t` and `bias`); null when not, and then no column can be imprinted. */
    fun classifier(trainable: List<TensorSpec>): Classifier? {
        val layer = trainable.lastOrNull()?.layer ?: return null
        val entries = trainable.filter { it.layer == layer }
        val weight = entries.singleOrNull { it.kind == "weight_t" } ?: return null
        val bias = entries.singleOrNull { it.kind == "bias" } ?: return null
        if (entries.size != 2 || bias.shape.toList() != listOf(weight.shape.last())) return null
        return Classifier(weight, bias)
    }

    /** [weights] with [slot]'s column zero and its bias [FAR] below the least of [others]'. */
    fun start(
        weights: Map<String, NdArray.Float32>,
        c: Classifier,
        slot: Int,
        others: IntArray,
    ): Map<String, NdArray.Float32> {
        val w = weights.getValue(c.weight.name).data.copyOf()
        for (k in 0 until c.inputs) w[k * c.slots + slot] = 0f
        val b = weights.getValue(c.bias.name).data.copyOf()
        b[slot] = others.minOf { b[it] } - FAR
        return replaced(weights, c, w, b)
    }

    /** The rows of a batch of [batch]: every one of [n] examples, evenly (`np.resize`). */
    fun rows(n: Int, batch: Int): IntArray = IntArray(batch) { it % n }

    /**
     * [weights] with [slot] imprinted from [gradient] (the classifier weight's gradient at
     * [start]'s weights on a batch of the new word's clips); null when its column is zero or
     * not finite (nothing to imprint from).
     */
    fun fromGradient(
        weights: Map<String, NdArray.Float32>,
        c: Classifier,
        slot: Int,
        others: IntArray,
        gradient: FloatArray,
    ): Map<String, NdArray.Float32>? {
        val direction = FloatArray(c.inputs) { -gradient[it * c.slots + slot] }
        val norm = norm(direction.size) { direction[it].toDouble() }
        if (!norm.isFinite() || norm == 0.0) return null
        val w = weights.getValue(c.weight.name).data.copyOf()
        val scale = others.map { col -> norm(c.inputs) { w[it * c.slots + col].toDouble() } }
            .average()
        val factor = (scale / norm).toFloat()
        for (k in 0 until c.inputs) w[k * c.slots + slot] = direction[k] * factor
        val b = weights.getValue(c.bias.name).data.copyOf()
        b[slot] = others.map { b[it].toDouble() }.average().toFloat()
        return replaced(weights, c, w, b)
    }

    /**
     * [weights] with the new word's [slot] imprinted from its clips' [features] `(n, width)`,
     * scaled like the live slots [others], through [step] (batches of [batch] rows under
     * [mask]). Unchanged when the plan does not train the classifier whole, when no other
     * slot is live to scale by, or when the gradient gives nothing to imprint from.
     */
    fun imprint(
        step: JointStep,
        weights: Map<String, NdArray.Float32>,
        trainable: List<TensorSpec>,
        features: NdArray.Float32,
        slot: Int,
        others: IntArray,
        batch: Int,
        mask: FloatArray,
    ): Map<String, NdArray.Float32> {
        val c = classifier(trainable) ?: return weights
        val n = features.shape[0]
        if (others.isEmpty() || n == 0) return weights
        val width = features.shape[1]
        val x = FloatArray(batch * width)
        rows(n, batch).forEachIndexed { i, row ->
            System.arraycopy(features.data, row * width, x, i * width, width)
        }
        step.load(start(weights, c, slot, others))
        val out = step.gradients(x, LongArray(batch) { slot.toLong() }, mask)
        val gradient = out.gradients[c.weight.name] ?: return weights
        return fromGradient(weights, c, slot, others, gradient) ?: weights
    }

    private fun norm(n: Int, value: (Int) -> Double): Double {
        var sum = 0.0
        for (i in 0 until n) sum += value(i) * value(i)
        return sqrt(sum)
    }

    private fun replaced(
        weights: Map<String, NdArray.Float32>,
        c: Classifier,
        w: FloatArray,
        b: FloatArray,
    ): Map<String, NdArray.Float32> = weights.mapValues { (name, array) ->
        when (name) {
            c.weight.name -> NdArray.Float32(array.shape, w)
            c.bias.name -> NdArray.Float32(array.shape, b)
            else -> array
        }
    }
}
