package ai.edgekit.demo.runtime

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.FeatureParts
import ai.edgekit.demo.core.program.KwsProgram
import org.pytorch.executorch.EValue
import org.pytorch.executorch.Module
import org.pytorch.executorch.Tensor
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
        require(n in 1..manifest.maxBatch) { "embed takes 1..${manifest.maxBatch} windows, not $n" }
        val shape = longArrayOf(n.toLong(), manifest.clipSamples.toLong())
        val outputs = module.execute("embed", EValue.from(Tensor.fromBlob(pcm, shape)))
        return FeatureParts.join(outputs.map { it.toTensor().dataAsFloatArray }, n)
    }

    override fun classify(
        features: FloatArray,
        n: Int,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): FloatArray {
        require(n in 1..manifest.maxBatch) { "classify takes 1..${manifest.maxBatch} rows, not $n" }
        val parts = FeatureParts.split(features, n, manifest.featureParts)
        val inputs = ArrayList<EValue>()
        manifest.featureParts.forEachIndexed { i, spec ->
            inputs += EValue.from(Tensor.fromBlob(parts[i], FeatureParts.shape(n, spec)))
        }
        inputs += EValue.from(Tensor.fromBlob(mask, longArrayOf(manifest.maxClasses.toLong())))
        for (w in weights) {
            val shape = LongArray(w.shape.size) { w.shape[it].toLong() }
            inputs += EValue.from(Tensor.fromBlob(w.data, shape))
        }
        return module.execute("classify", *inputs.toTypedArray())[0].toTensor().dataAsFloatArray
    }

    override fun close() = module.destroy()
}
