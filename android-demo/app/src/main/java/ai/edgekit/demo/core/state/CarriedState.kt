package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.JsonShapeError
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.NpyFormatError
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.Pcg64
import java.nio.charset.CharacterCodingException

/**
 * What of a saved state can outlive the bundle version it was trained on, read from the state
 * file ([StateFormat]'s layout) without that version's manifest: the [labels] and the [live]
 * ones, the feature cache as clips by word ([replay]), the examples added to D0 ([added]), the
 * draws ([rng]) and the [backboneHash] the features were embedded by. The trained weights are
 * left out: a new version brings its own.
 */
class CarriedState(
    val backboneHash: String,
    val labels: List<String>,
    val live: List<String>,
    val replay: ClipSet,
    val added: ClipSet,
    val rng: Pcg64.State,
) {
    companion object {
        /** The carried part of the state file [bytes] ([where] names it); [CorruptState] when
         * it is not readable as one. */
        fun read(bytes: ByteArray, where: String): CarriedState {
            fun corrupt(why: String): Nothing = throw CorruptState("$where: $why")
            val arrays = try {
                Npz.read(bytes, where)
            } catch (e: NpyFormatError) {
                corrupt("not a readable state (${e.message})")
            } catch (e: RuntimeException) { // a damaged header's sizes, offsets or shapes
                corrupt("not a readable state ($e)")
            }
            val meta = arrays["meta"] as? NdArray.UInt8 ?: corrupt("it holds no uint8 'meta'")
            return try {
                val f = Fields.parse(StateFormat.utf8(meta.data), "$where:meta")
                val labels = f.strings("labels")
                val live = f.strings("live")
                if (!labels.containsAll(live)) corrupt("its live labels are not among its labels")
                CarriedState(
                    backboneHash = f.string("backbone_hash"),
                    labels = labels,
                    live = live,
                    replay = clips(arrays, "replay", labels, ::corrupt),
                    added = clips(arrays, "global", labels, ::corrupt),
                    rng = rng(f, ::corrupt),
                )
            } catch (e: JsonShapeError) {
                corrupt("its meta is not readable (${e.message})")
            } catch (e: CharacterCodingException) {
                corrupt("its meta is not UTF-8 text")
            }
        }

        private fun rng(meta: Fields, corrupt: (String) -> Nothing): Pcg64.State = try {
            StateFormat.rng(meta.obj("rng"))
        } catch (e: IllegalArgumentException) {
            corrupt("it holds a damaged random-draw state (${e.message})")
        }

        /** `<prefix>_features` with the label of each `<prefix>_labels` slot. */
        private fun clips(
            arrays: Map<String, NdArray>,
            prefix: String,
            labels: List<String>,
            corrupt: (String) -> Nothing,
        ): ClipSet {
            val x = arrays["${prefix}_features"] as? NdArray.Float32
            val slots = when (val y = arrays["${prefix}_labels"]) {
                is NdArray.Int64 -> y.data.toList()
                is NdArray.Int32 -> y.data.map { it.toLong() }
                else -> corrupt("its ${prefix}_labels are $y, not integer slots")
            }
            if (x == null || x.shape.size != 2 || x.shape[0] != slots.size || x.shape[1] < 1) {
                corrupt("its ${prefix}_features are $x for ${slots.size} labels")
            }
            if (!x.data.all { it.isFinite() }) corrupt("its ${prefix}_features hold NaN or Inf")
            val words = slots.map { slot ->
                if (slot !in 0L until labels.size) {
                    corrupt("its ${prefix}_labels name slot $slot, which holds no label")
                }
                labels[slot.toInt()]
            }
            return ClipSet(x, words)
        }
    }
}
