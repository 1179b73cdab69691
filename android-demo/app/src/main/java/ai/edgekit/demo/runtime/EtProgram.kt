package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.FeatureParts
import ai.edgekit.demo.core.program.KwsProgram
import ai.edgekit.demo.core.program.ProgramMethods
import org.pytorch.executorch.Module
import java.io.File

/**
 * The bundle's `model.pte` in ExecuTorch's Android runtime (`org.pytorch.executorch.Module`):
 * `embed` takes raw PCM (the front-end is inside the program), `classify` takes the features
 * with the current weights as explicit inputs, so inference sees what training learned.
 *
 * Panels call it from their own threads (the detector, a recording, a hub sync): one call runs
 * at a time, and [close] waits for the running one; a call after [close] throws
 * IllegalStateException.
 */
class EtProgram(override val manifest: Manifest, program: File) : KwsProgram {
    private val module: Module = Module.load(program.absolutePath)
    private val lock = Any()
    private var closed = false

    /** The program's method names (`embed`, `classify`, `train_step`...). */
    val methods: List<String> get() = open { module.getMethods().toList() }

    override fun embed(pcm: FloatArray, n: Int): FloatArray = open {
        val (spec) = ProgramMethods.embedInputs(manifest, n)
        val outputs = module.execute(ProgramMethods.EMBED, input(spec, pcm))
        FeatureParts.join(outputs.map { it.toTensor().dataAsFloatArray }, n)
    }

    override fun classify(
        features: FloatArray,
        n: Int,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): FloatArray = open {
        val specs = ProgramMethods.classifyInputs(manifest, n)
        val data = FeatureParts.split(features, n, manifest.featureParts) + mask +
            weights.map { it.data }
        check(data.size == specs.size) { "classify takes ${specs.size} inputs, not ${data.size}" }
        val inputs = specs.zip(data) { spec, values -> input(spec, values) }
        val logits = module.execute(ProgramMethods.CLASSIFY, *inputs.toTypedArray())[0]
        logits.toTensor().dataAsFloatArray
    }

    override fun close() = synchronized(lock) {
        if (!closed) module.destroy()
        closed = true
    }

    /** [call] on the module, one call at a time, refused once closed. */
    private inline fun <T> open(call: () -> T): T = synchronized(lock) {
        check(!closed) { "the bundle's program was closed" }
        call()
    }
}
