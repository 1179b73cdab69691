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
 */
class EtProgram(override val manifest: Manifest, program: File) : KwsProgram {
    private val module: Module = Module.load(program.absolutePath)

    /** The program's method names (`embed`, `classify`, `train_step`...). */
    val methods: List<String> get() = module.getMethods().toList()

    override fun embed(pcm: FloatArray, n: Int): FloatArray {
        val (spec) = ProgramMethods.embedInputs(manifest, n)
        val outputs = module.execute(ProgramMethods.EMBED, input(spec, pcm))
        return FeatureParts.join(outputs.map { it.toTensor().dataAsFloatArray }, n)
    }

    override fun classify(
        features: FloatArray,
        n: Int,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): FloatArray {
        val specs = ProgramMethods.classifyInputs(manifest, n)
        val data = FeatureParts.split(features, n, manifest.featureParts) + mask +
            weights.map { it.data }
        check(data.size == specs.size) { "classify takes ${specs.size} inputs, not ${data.size}" }
        val inputs = specs.zip(data) { spec, values -> input(spec, values) }
        val logits = module.execute(ProgramMethods.CLASSIFY, *inputs.toTypedArray())[0]
        return logits.toTensor().dataAsFloatArray
    }

    override fun close() = module.destroy()
}
