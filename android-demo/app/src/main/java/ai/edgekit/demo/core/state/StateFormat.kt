package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.NpyFormatError
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.train.ClassSlots
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.train.Pcg64
import ai.edgekit.demo.core.train.TrainingInputError
import java.math.BigInteger
import java.nio.ByteBuffer
import java.nio.charset.CharacterCodingException
import java.nio.charset.CodingErrorAction

/** A saved state that cannot be used as it is (damaged, of another bundle, not fitting it);
 * the message says why. Nothing of it was loaded. */
class CorruptState(message: String) : Exception(message)

/**
 * The state file's layout, the Python device's own (`edgekit.device.state`), so that either
 * side reads what the other wrote: one `.npz` of `w:<name>` per trainable tensor (float32),
 * `replay_features` / `replay_labels`, `global_features` / `global_labels`, and `meta`, the
 * UTF-8 bytes (uint8) of `{"labels", "live", "backbone_hash", "rng"}` JSON, `rng` being numpy's
 * PCG64 state.
 */
object StateFormat {
    /** The file's bytes; a state holding NaN or Inf is refused ([TrainingInputError]). */
    fun encode(state: LearnerState, backboneHash: String): ByteArray {
        val bad = state.weights.filterValues { !finite(it.data) }.keys.toMutableList()
        if (!finite(state.replayFeatures.data)) bad += "replay_features"
        if (!finite(state.globalFeatures.data)) bad += "global_features"
        if (bad.isNotEmpty()) throw TrainingInputError("$bad hold NaN or Inf: state not saved")
        val arrays = LinkedHashMap<String, NdArray>()
        for ((name, w) in state.weights) arrays["w:$name"] = w
        arrays["replay_features"] = state.replayFeatures
        arrays["replay_labels"] = state.replayLabels
        arrays["global_features"] = state.globalFeatures
        arrays["global_labels"] = state.globalLabels
        val rng = state.rng
        val meta = Json.obj(
            "labels" to Json.arr(state.labels.map { Json.of(it) }),
            "live" to Json.arr(state.live.map { Json.of(it) }),
            "backbone_hash" to Json.of(backboneHash),
            "rng" to Json.obj(
                "bit_generator" to Json.of("PCG64"),
                "state" to Json.obj("state" to big(rng.state), "inc" to big(rng.inc)),
                "has_uint32" to Json.of(rng.hasUint32),
                "uinteger" to Json.of(rng.uinteger),
            ),
        )
        val text = meta.write().toByteArray(Charsets.UTF_8)
        arrays["meta"] = NdArray.UInt8(intArrayOf(text.size), text)
        return Npz.write(arrays)
    }

    /**
     * The state in [bytes], checked whole against [manifest] as `read_state` and the Python
     * learner's restore check it: a readable archive, the bundle's backbone hash, every
     * trainable tensor finite float32 of its shape, distinct labels fitting the slots with the
     * live ones among them, finite `(n, featureSize)` examples with slots in range, a PCG64
     * state. Anything else raises [CorruptState] naming [where] and what is wrong.
     */
    fun decode(bytes: ByteArray, manifest: Manifest, where: String): LearnerState {
        fun corrupt(why: String): Nothing = throw CorruptState("$where: $why")
        val arrays = try {
            Npz.read(bytes, where)
        } catch (e: NpyFormatError) {
            throw CorruptState("$where is not a readable state (${e.message})")
        } catch (e: RuntimeException) { // a damaged header's sizes, offsets or shapes
            throw CorruptState("$where is not a readable state ($e)")
        }
        val metaBytes = arrays["meta"] as? NdArray.UInt8 ?: corrupt("it holds no uint8 'meta'")
        val meta = try {
            Fields.parse(utf8(metaBytes.data), "$where:meta")
        } catch (e: JsonShapeError) {
            corrupt("its meta is not readable (${e.message})")
        } catch (e: CharacterCodingException) {
            corrupt("its meta is not UTF-8 text")
        }
        return try {
            read(arrays, meta, manifest, ::corrupt)
        } catch (e: JsonShapeError) {
            corrupt("its meta is not readable (${e.message})")
        }
    }

    private fun read(
        arrays: Map<String, NdArray>,
        meta: Fields,
        m: Manifest,
        corrupt: (String) -> Nothing,
    ): LearnerState {
        if (meta.string("backbone_hash") != m.backboneHash) {
            corrupt("it belongs to another bundle (backbone hash differs)")
        }
        val weights = m.trainable.associate { spec ->
            val w = arrays["w:${spec.name}"] as? NdArray.Float32
            if (w == null || !w.shape.contentEquals(spec.shape) || !finite(w.data)) {
                corrupt("${spec.name} is ${arrays["w:${spec.name}"]}, not finite float32 $spec")
            }
            spec.name to w
        }
        val labels = meta.strings("labels")
        val live = meta.strings("live")
        try {
            ClassSlots(labels, m.maxClasses, live)
        } catch (e: TrainingInputError) {
            corrupt("its labels do not fit the bundle's ${m.maxClasses} slots (${e.message})")
        }
        val replay = examples(arrays, "replay", m, corrupt)
        val added = examples(arrays, "global", m, corrupt)
        val rng = try {
            rng(meta.obj("rng"))
        } catch (e: IllegalArgumentException) {
            corrupt("it holds a damaged random-draw state (${e.message})")
        }
        return LearnerState(
            weights = weights,
            labels = labels,
            live = live,
            replayFeatures = replay.first,
            replayLabels = replay.second,
            globalFeatures = added.first,
            globalLabels = added.second,
            rng = rng,
        )
    }

    /** `<prefix>_features` / `<prefix>_labels`: finite `(n, featureSize)` rows, a slot each. */
    private fun examples(
        arrays: Map<String, NdArray>,
        prefix: String,
        m: Manifest,
        corrupt: (String) -> Nothing,
    ): Pair<NdArray.Float32, NdArray.Int64> {
        val x = arrays["${prefix}_features"]
        val y = when (val labels = arrays["${prefix}_labels"]) {
            is NdArray.Int64 -> labels
            is NdArray.Int32 -> NdArray.Int64(labels.shape, LongArray(labels.size) {
                labels.data[it].toLong()
            })
            else -> corrupt("its ${prefix}_labels are $labels, not integer slots")
        }
        val n = y.shape.singleOrNull() ?: -1
        if (x !is NdArray.Float32 || !x.shape.contentEquals(intArrayOf(n, m.featureSize))) {
            val shapes = "(n, ${m.featureSize}) and (n,)"
            corrupt("its ${prefix}_features $x and labels $y are not $shapes")
        }
        if (!finite(x.data)) corrupt("its ${prefix}_features hold NaN or Inf")
        if (y.data.any { it !in 0 until m.maxClasses }) {
            corrupt("its ${prefix}_labels are not slots below ${m.maxClasses}")
        }
        return x to y
    }

    /** numpy's PCG64 state as the meta's `rng` holds it; [IllegalArgumentException] or
     * [JsonShapeError] when it is not one. */
    internal fun rng(f: Fields): Pcg64.State {
        require(f.string("bit_generator") == "PCG64") { "not numpy's PCG64" }
        val inner = f.obj("state")
        fun integer(field: Fields, key: String): BigInteger =
            (field.raw(key) as? Json.Num)?.toBigInteger() ?: throw JsonShapeError("$key: no int")
        return Pcg64.State(
            integer(inner, "state"),
            integer(inner, "inc"),
            f.int("has_uint32"),
            f.long("uinteger"),
        )
    }

    private fun big(value: BigInteger) = Json.Num(value.toString(), isInteger = true)

    private fun finite(values: FloatArray) = values.all { it.isFinite() }

    internal fun utf8(bytes: ByteArray): String = Charsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT)
        .decode(ByteBuffer.wrap(bytes))
        .toString()
}
