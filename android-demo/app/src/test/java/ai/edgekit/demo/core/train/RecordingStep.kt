package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray

/**
 * A [JointStep] that runs no model: it records every call the session makes (the weights
 * loaded, the optimizers made, each batch, each gradient applied) and answers each gradient
 * call with [answer] (call number from 1, features, labels). It tests the session's loop, not
 * training: what the runtime computes is checked against the Python runtime elsewhere
 * (GradientsTest, ImprintTest). [read] gives the weights last loaded, or [readOverride].
 */
class RecordingStep(
    private val answer: (call: Int, features: FloatArray, labels: LongArray) -> StepGradients,
) : JointStep {
    val loads = ArrayList<Map<String, NdArray.Float32>>()
    val sessions = ArrayList<Pair<Double, Double>>() // (learning rate, momentum) of each
    val batches = ArrayList<TrainBatch>()
    val masks = ArrayList<FloatArray>()
    val applied = ArrayList<Map<String, FloatArray>>()
    val threads = HashSet<String>()
    var readOverride: Map<String, NdArray.Float32>? = null

    override fun load(weights: Map<String, NdArray.Float32>) {
        loads += weights
    }

    override fun startSession(learningRate: Double, momentum: Double) {
        sessions += learningRate to momentum
    }

    override fun gradients(features: FloatArray, labels: LongArray, mask: FloatArray):
        StepGradients {
        threads += Thread.currentThread().name
        batches += TrainBatch(features.copyOf(), labels.copyOf())
        masks += mask.copyOf()
        return answer(batches.size, features, labels)
    }

    override fun step(gradients: Map<String, FloatArray>) {
        applied += gradients
    }

    override fun read(): Map<String, NdArray.Float32> = readOverride ?: loads.last()
}
