package ai.edgekit.demo.core.program

import ai.edgekit.demo.core.bundle.Manifest

/** Element type of a method's input tensor. */
enum class Dtype { FLOAT32, INT64 }

/** One input tensor of a program method: what it holds, its element type and shape. */
class MethodInput(val name: String, val dtype: Dtype, val shape: LongArray) {
    /** Elements in the tensor. */
    val size: Long get() = shape.fold(1L) { n, d -> n * d }

    override fun toString() = "$name ${dtype.name.lowercase()}${shape.toList()}"
}

/**
 * The methods of a bundle's program that the app calls and the tensors it passes each, derived
 * from the manifest: the ExecuTorch glue (`ai.edgekit.demo.runtime`) builds every input from
 * these, so the shapes here are the ones the phone sends. `make android-check` checks them
 * against a real exported bundle (method names read from the glue's calls, then each method run
 * by the Python runtime with these inputs).
 *
 * Rows of features are split per part of the cut ([FeatureParts]); the class mask is one float
 * per slot (1 live, 0 not); the trainable tensors follow in the manifest's order.
 */
object ProgramMethods {
    const val EMBED = "embed" // raw PCM windows -> features at the cut
    const val CLASSIFY = "classify" // features + mask + trainable weights -> logits
    const val TRAIN_STEP = "train_step" // features + target slots + mask -> loss (joint method)

    /** `embed`'s input: `n` windows of PCM in [-1, 1], `(n, clipSamples)`. */
    fun embedInputs(m: Manifest, n: Int): List<MethodInput> {
        requireRows(n, m.maxBatch, EMBED)
        val shape = longArrayOf(n.toLong(), m.clipSamples.toLong())
        return listOf(MethodInput("pcm", Dtype.FLOAT32, shape))
    }

    /** `embed`'s outputs: one tensor `(n, *shape)` per feature part. */
    fun embedOutputs(m: Manifest, n: Int): List<LongArray> =
        m.featureParts.map { FeatureParts.shape(n, it) }

    /** `classify`'s inputs for `n` rows of features. */
    fun classifyInputs(m: Manifest, n: Int): List<MethodInput> {
        requireRows(n, m.maxBatch, CLASSIFY)
        val weights = m.trainable.map { spec ->
            val shape = LongArray(spec.shape.size) { spec.shape[it].toLong() }
            MethodInput(spec.name, Dtype.FLOAT32, shape)
        }
        return features(m, n) + mask(m) + weights
    }

    /** `classify`'s output: logits `(n, maxClasses)`. */
    fun classifyOutput(m: Manifest, n: Int): LongArray =
        longArrayOf(n.toLong(), m.maxClasses.toLong())

    /** `train_step`'s inputs: a batch of exactly `trainBatch` rows and their target slots. */
    fun trainStepInputs(m: Manifest): List<MethodInput> {
        val b = m.trainBatch
        val labels = MethodInput("labels", Dtype.INT64, longArrayOf(b.toLong()))
        return features(m, b) + labels + mask(m)
    }

    private fun features(m: Manifest, n: Int): List<MethodInput> =
        m.featureParts.map { MethodInput(it.name, Dtype.FLOAT32, FeatureParts.shape(n, it)) }

    private fun mask(m: Manifest) =
        MethodInput("mask", Dtype.FLOAT32, longArrayOf(m.maxClasses.toLong()))

    private fun requireRows(n: Int, max: Int, method: String) =
        require(n in 1..max) { "$method takes 1..$max rows, not $n" }
}
