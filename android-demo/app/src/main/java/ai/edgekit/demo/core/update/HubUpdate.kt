package ai.edgekit.demo.core.update

import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.Npz

/** An update that is not of the hub's format; the message says what is wrong. */
class UpdateFormatError(message: String) : Exception(message)

/**
 * What a device sends the hub after training (`edgekit.device.hub_update`): one `.npz` with
 * its trainable tensors by the manifest's names, [LABELS] (slot i's label where it is live on
 * the device, "" elsewhere) and [D0_SCORES] (its softmax over its live slots on each D0 clip).
 */
class HubUpdate(
    val trainable: Map<String, NdArray.Float32>,
    val slotLabels: List<String>,
    val d0Scores: NdArray.Float32, // (n_d0, max_classes)
) {
    init {
        val clash = trainable.keys.intersect(setOf(LABELS, D0_SCORES))
        if (clash.isNotEmpty()) {
            throw UpdateFormatError("trainable tensors may not be named ${clash.sorted()}")
        }
        if (d0Scores.shape.size != 2 || d0Scores.shape[1] != slotLabels.size) {
            throw UpdateFormatError(
                "D0 scores ${d0Scores.shape.toList()} are not (n_d0, ${slotLabels.size} slots)",
            )
        }
    }

    /** The update's bytes, arrays in `pack_update`'s order. */
    fun pack(): ByteArray {
        val arrays = LinkedHashMap<String, NdArray>(trainable)
        arrays[LABELS] = NdArray.of(slotLabels)
        arrays[D0_SCORES] = d0Scores
        return Npz.write(arrays)
    }

    companion object {
        const val LABELS = "__labels__"
        const val D0_SCORES = "__d0_scores__"

        /** The update in [bytes]; [UpdateFormatError] when it lacks or mistypes a part. */
        fun unpack(bytes: ByteArray): HubUpdate {
            val arrays = Npz.read(bytes, "the update")
            val labels = arrays.remove(LABELS) as? NdArray.Unicode
            val scores = arrays.remove(D0_SCORES) as? NdArray.Float32
            if (labels == null || labels.shape.size != 1 || scores == null) {
                throw UpdateFormatError("the update lacks string $LABELS or float32 $D0_SCORES")
            }
            val trainable = arrays.mapValues { (name, array) ->
                array as? NdArray.Float32
                    ?: throw UpdateFormatError("$name is ${array.descr}, not float32")
            }
            return HubUpdate(trainable, labels.data.toList(), scores)
        }
    }
}
