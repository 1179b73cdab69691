package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.FeatureParts
import ai.edgekit.demo.core.program.ProgramMethods
import ai.edgekit.demo.core.train.JointStep
import ai.edgekit.demo.core.train.StepGradients
import org.pytorch.executorch.Tensor
import org.pytorch.executorch.training.SGD
import org.pytorch.executorch.training.TrainingModule
import java.io.File
import java.nio.FloatBuffer

/**
 * `train_step` of the bundle's program through ExecuTorch's training API, as the core's
 * [JointStep]: forward-backward, the gradients read out, and the step of ONE SGD per session
 * (a new optimizer per step would lose its momentum). Which steps apply and the gradient clip
 * are the core's (`core.train.SgdSession`); this class only calls the runtime.
 *
 * The method's parameters exist only after a first forward-backward, and they wrap the
 * runtime's memory: [load] writes into them, the SGD updates them in place, [read] copies them
 * out. The module is freed when the trainer is collected (the training API's release call
 * differs between its versions).
 */
class EtTrainer(private val manifest: Manifest, program: File) : JointStep {
    private val module: TrainingModule = TrainingModule.load(program.absolutePath)
    private var runtimeParameters: Map<String, Tensor> = emptyMap() // by the runtime's names
    private var runtimeNames: Map<String, String> = emptyMap() // manifest name -> runtime's
    private var runtimeGradients: Map<String, Tensor> = emptyMap() // of the last batch
    private var optimizer: SGD? = null

    override fun load(weights: Map<String, NdArray.Float32>) {
        if (runtimeParameters.isEmpty()) {
            // a forward-backward on zeros makes the parameters; its gradients are not applied
            val b = manifest.trainBatch
            val mask = FloatArray(manifest.maxClasses) { 1f }
            forwardBackward(FloatArray(b * manifest.featureSize), LongArray(b), mask)
            runtimeParameters = module.namedParameters(ProgramMethods.TRAIN_STEP)
            runtimeNames = runtimeParameters.keys.associateBy { it.removePrefix(PREFIX) }
        }
        for (spec in manifest.trainable) {
            val source = weights[spec.name] ?: error("no weights for ${spec.name}")
            val target = parameter(spec.name).getRawDataBuffer() as FloatBuffer
            target.rewind()
            target.put(source.data)
        }
    }

    override fun startSession(learningRate: Double, momentum: Double) {
        check(runtimeParameters.isNotEmpty()) { "load() the weights first" }
        optimizer = SGD.create(runtimeParameters, learningRate, momentum, 0.0, 0.0, false)
    }

    override fun gradients(features: FloatArray, labels: LongArray, mask: FloatArray):
        StepGradients {
        val loss = forwardBackward(features, labels, mask)
        runtimeGradients = module.namedGradients(ProgramMethods.TRAIN_STEP)
        val gradients = manifest.trainable.associate { spec ->
            spec.name to gradient(spec.name).dataAsFloatArray
        }
        return StepGradients(loss, gradients)
    }

    override fun step(gradients: Map<String, FloatArray>) {
        val sgd = checkNotNull(optimizer) { "startSession() first" }
        // the core's (clipped) values written back into the runtime's own gradient tensors,
        // then the step on them, as ExecuTorch's training examples call it
        for (spec in manifest.trainable) {
            val values = gradients[spec.name] ?: error("no gradient for ${spec.name}")
            val target = gradient(spec.name).getRawDataBuffer() as FloatBuffer
            target.rewind()
            target.put(values)
        }
        sgd.step(runtimeGradients)
    }

    override fun read(): Map<String, NdArray.Float32> = manifest.trainable.associate { spec ->
        spec.name to NdArray.Float32(spec.shape, parameter(spec.name).dataAsFloatArray)
    }

    private fun runtimeName(name: String): String =
        runtimeNames[name] ?: error("train_step has no parameter $name (load() first)")

    private fun parameter(name: String): Tensor = runtimeParameters.getValue(runtimeName(name))

    private fun gradient(name: String): Tensor =
        runtimeGradients[runtimeName(name)] ?: error("no gradient of $name (gradients() first)")

    /** One forward-backward of `train_step` on a batch; its loss (the first output). */
    private fun forwardBackward(features: FloatArray, labels: LongArray, mask: FloatArray): Float {
        val specs = ProgramMethods.trainStepInputs(manifest)
        val data = FeatureParts.split(features, manifest.trainBatch, manifest.featureParts)
        check(data.size + 2 == specs.size) { "train_step takes ${specs.size} inputs" }
        val inputs = specs.dropLast(2).zip(data) { spec, values -> input(spec, values) } +
            input(specs[specs.size - 2], labels) + input(specs.last(), mask)
        val outputs = module.executeForwardBackward(
            ProgramMethods.TRAIN_STEP,
            *inputs.toTypedArray(),
        )
        return outputs[0].toTensor().dataAsFloatArray[0] // the batch's mean loss
    }

    private companion object {
        const val PREFIX = "tail." // the exporter's training wrapper holds the head as `tail`
    }
}
