package ai.edgekit.demo.core.update

import ai.edgekit.demo.core.listen.Softmax
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.KwsProgram
import ai.edgekit.demo.core.train.LearnerState

/**
 * The update a phone sends the hub after training, as the Python device builds it
 * (`edgekit.device.hub_update.update_body`): the state's trainable weights, the label of each
 * slot where it is live ("" for slots not live and free ones) and its scores on the bundle's
 * D0: `classify` with the state's weights and live slots, in chunks of at most `maxBatch`
 * rows as the Python program runs it, and the SDK's softmax over the live slots ([Softmax]).
 */
object UpdateBuilder {
    /** The update of [state] on [program]'s bundle, scored on [d0Features]
     * `(n_d0, featureSize)`. Blocks while the program runs D0 (call it off the UI thread). */
    fun build(program: KwsProgram, state: LearnerState, d0Features: NdArray.Float32): HubUpdate {
        val m = program.manifest
        val slots = state.slots(m.maxClasses)
        val mask = slots.mask()
        val live = slots.live.toSet()
        val labels = List(m.maxClasses) { i ->
            state.labels.getOrNull(i)?.takeIf { it in live } ?: ""
        }
        val weights = m.trainable.map { state.weights.getValue(it.name) }
        return HubUpdate(
            m.trainable.associate { it.name to state.weights.getValue(it.name) },
            labels,
            scores(program, d0Features, mask, weights),
        )
    }

    /** Softmax over the live slots of `classify` on every row of [features], `(n, slots)`. */
    fun scores(
        program: KwsProgram,
        features: NdArray.Float32,
        mask: FloatArray,
        weights: List<NdArray.Float32>,
    ): NdArray.Float32 {
        val m = program.manifest
        val width = m.featureSize
        require(features.shape.contentEquals(intArrayOf(features.shape[0], width))) {
            "features ${features.shape.toList()} are not (n, $width)"
        }
        val n = features.shape[0]
        val slots = m.maxClasses
        val out = FloatArray(n * slots)
        var start = 0
        while (start < n) {
            val rows = minOf(m.maxBatch, n - start)
            val chunk = features.data.copyOfRange(start * width, (start + rows) * width)
            val logits = program.classify(chunk, rows, mask, weights)
            val p = Softmax.probabilities(logits, rows, mask)
            System.arraycopy(p, 0, out, start * slots, rows * slots)
            start += rows
        }
        return NdArray.Float32(intArrayOf(n, slots), out)
    }
}
