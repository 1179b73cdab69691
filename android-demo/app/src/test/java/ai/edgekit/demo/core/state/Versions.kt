package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.train.Pcg64
import ai.edgekit.demo.core.train.TrainData

/**
 * Other versions of the real bundle, as a hub publishes them: the same manifest with another
 * content digest (a weights-only version: what federation makes), optionally other labels or
 * another backbone hash; its weights are the bundle's plus a constant, as the test hub's second
 * versions are (tests/android/hub_served.py).
 */
object Versions {
    val manifest: Manifest get() = TrainData.bundle.manifest

    fun of(
        m: Manifest = manifest,
        digest: String = "1".repeat(64),
        labels: List<String> = m.labels,
        backboneHash: String = m.backboneHash,
    ) = Manifest(
        labels, m.maxClasses, m.arch, m.sampleRate, m.clipSamples, m.cut, m.featureParts,
        m.trainable, m.trainBatch, m.maxBatch, m.temperature, backboneHash, m.detection,
        m.quantized, m.files, digest,
    )

    /** The bundle's weights plus [delta], each tensor. */
    fun weights(delta: Float): Map<String, NdArray.Float32> =
        TrainData.bundle.weights().mapValues { (_, w) ->
            NdArray.Float32(w.shape, FloatArray(w.data.size) { w.data[it] + delta })
        }

    /** The bundle with the noise word enrolled in slot 3, its 5 clips cached, D0's first three
     * rows cached for the first label, weights moved and draws moved on. */
    fun learned(): LearnerState {
        val noise = TrainData.noiseFeatures()
        val (d0x, _) = TrainData.bundle.d0()
        val width = manifest.featureSize
        val rows = LearnerState.rows(noise.data + d0x.data.copyOf(3 * width), width)
        val slots = LongArray(noise.shape[0]) { 3 } + LongArray(3)
        val rng = Pcg64.seeded(5).also { r -> repeat(7) { r.nextRaw() } }
        return LearnerState.initial(manifest, weights(0.125f)).copy(
            labels = manifest.labels + "noise",
            live = manifest.labels + "noise",
            replayFeatures = rows,
            replayLabels = NdArray.Int64(intArrayOf(slots.size), slots),
            rng = rng.state,
        )
    }
}
