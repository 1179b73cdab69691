package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.FeatureParts
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Tensor
import org.pytorch.executorch.training.SGD
import org.pytorch.executorch.training.TrainingModule
import java.io.File
import java.nio.FloatBuffer

/**
 * `train_step` of the bundle's program through ExecuTorch's training API, with ONE SGD for the
 * whole session (a new optimizer per step would lose its momentum). The runtime keeps no trained
 * weights across loads: [start] copies the app's weights into the method's parameters (which
 * exist only after a first forward-backward) and [weights] reads them out to be saved. The
 * module is freed when the trainer is collected (the training API's release call differs between
 * its versions).
 */
class EtTrainer(private val manifest: Manifest, program: File) {
    private val module: TrainingModule = TrainingModule.load(program.absolutePath)
    private var parameters: Map<String, Tensor> = emptyMap() // by manifest name
    private var optimizer: SGD? = null

    /** Loads [weights] (by manifest name) and makes the session's optimizer. */
    fun start(weights: Map<String, NdArray.Float32>, learningRate: Double, momentum: Double) {
        val b = manifest.trainBatch
        val mask = FloatArray(manifest.maxClasses) { 1f }
        // the parameters exist once a forward-backward ran: one on zeros, not applied
        step(FloatArray(b * manifest.featureSize), LongArray(b), mask, apply = false)
        parameters = module.namedParameters(METHOD).mapKeys { it.key.removePrefix(PREFIX) }
        for (spec in manifest.trainable) {
            val tensor = parameters[spec.name] ?: error("train_step has no parameter ${spec.name}")
            val source = weights[spec.name] ?: error("no weights for ${spec.name}")
            val target = tensor.getRawDataBuffer() as FloatBuffer
            target.rewind()
            target.put(source.data)
        }
        val params = module.namedParameters(METHOD)
        optimizer = SGD.create(params, learningRate, momentum, 0.0, 0.0, false)
    }

    /** One forward-backward on a batch of `trainBatch` rows; the SGD step unless not [apply].
     * Returns the loss. */
    fun step(
        features: FloatArray,
        labels: LongArray,
        mask: FloatArray,
        apply: Boolean = true,
    ): Float {
        val b = manifest.trainBatch
        require(labels.size == b) { "train_step takes batches of $b rows, not ${labels.size}" }
        val parts = FeatureParts.split(features, b, manifest.featureParts)
        val inputs = manifest.featureParts.mapIndexed { i, spec ->
            EValue.from(Tensor.fromBlob(parts[i], FeatureParts.shape(b, spec)))
        } + EValue.from(Tensor.fromBlob(labels, longArrayOf(b.toLong()))) +
            EValue.from(Tensor.fromBlob(mask, longArrayOf(manifest.maxClasses.toLong())))
        val outputs = module.executeForwardBackward(METHOD, *inputs.toTypedArray())
        if (apply) {
            val sgd = checkNotNull(optimizer) { "call start() first" }
            sgd.step(module.namedGradients(METHOD))
        }
        return outputs[0].toTensor().dataAsFloatArray[0]
    }

    /** A copy of the current trainable weights, by manifest name. */
    fun weights(): Map<String, NdArray.Float32> = manifest.trainable.associate { spec ->
        val tensor = parameters[spec.name] ?: error("call start() first")
        spec.name to NdArray.Float32(spec.shape, tensor.dataAsFloatArray)
    }

    private companion object {
        const val METHOD = "train_step"
        const val PREFIX = "tail." // the exporter's training wrapper holds the head as `tail`
    }
}
