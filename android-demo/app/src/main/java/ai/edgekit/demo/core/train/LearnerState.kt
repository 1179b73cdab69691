package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray

/**
 * What the phone has learned on top of its bundle (`edgekit.device.state.LearnerState`), what
 * training starts from and returns, and what `core.state` saves:
 *
 * - [weights]: the trainable tensors by manifest name, of their manifest shapes;
 * - [labels] of the slots in use (slot i holds `labels[i]`) and the [live] ones among them;
 * - the feature cache: [replayFeatures] `(n, featureSize)` of the user's recorded clips, each
 *   embedded once, and [replayLabels] `(n,)` their slots, mixed into every later session;
 * - [globalFeatures] / [globalLabels]: examples added to D0 after export (the Python device's
 *   `add_global`); the app adds none, it keeps and mixes those of a state it was given;
 * - [rng]: where the draws of batch order and pool rows stand, so the next session continues
 *   them rather than repeating the same ones.
 *
 * Values are not copied: treat the arrays as read-only; training returns a new state.
 */
data class LearnerState(
    val weights: Map<String, NdArray.Float32>,
    val labels: List<String>,
    val live: List<String>,
    val replayFeatures: NdArray.Float32,
    val replayLabels: NdArray.Int64,
    val globalFeatures: NdArray.Float32,
    val globalLabels: NdArray.Int64,
    val rng: Pcg64.State,
) {
    /** The class slots of this state in a bundle of [maxClasses] slots. */
    fun slots(maxClasses: Int): ClassSlots = ClassSlots(labels, maxClasses, live)

    companion object {
        /** A phone that has learned nothing yet: the bundle's [weights] and labels, all live,
         * an empty cache, draws seeded from [seed]. */
        fun initial(manifest: Manifest, weights: Map<String, NdArray.Float32>, seed: Long = 0) =
            LearnerState(
                weights = weights,
                labels = manifest.labels,
                live = manifest.labels,
                replayFeatures = rows(FloatArray(0), manifest.featureSize),
                replayLabels = NdArray.Int64(intArrayOf(0), LongArray(0)),
                globalFeatures = rows(FloatArray(0), manifest.featureSize),
                globalLabels = NdArray.Int64(intArrayOf(0), LongArray(0)),
                rng = Pcg64.seeded(seed).state,
            )

        /** [values] as `(n, width)` rows. */
        fun rows(values: FloatArray, width: Int): NdArray.Float32 {
            require(width > 0 && values.size % width == 0) {
                "${values.size} values are not rows of $width"
            }
            return NdArray.Float32(intArrayOf(values.size / width, width), values)
        }
    }
}
