package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.train.Pcg64
import ai.edgekit.demo.core.train.TrainData
import ai.edgekit.demo.core.train.TrainingInputError
import org.junit.Test
import java.io.File
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue

/**
 * The app's state on disk with the real bundle's weights: a round trip; a save killed before
 * its rename; and every kind of unusable file (truncated, bit-flipped, another bundle's, wrong
 * shapes, NaN, labels or slots out of range, a damaged random state, not an archive at all)
 * reported as corrupt with its reason, left untouched until the user sets it aside, and then
 * kept byte for byte beside.
 */
class StateStoreTest {
    private val manifest get() = TrainData.bundle.manifest

    /** The bundle's state with the noise word enrolled and its clips cached; draws moved on. */
    private fun learned(): LearnerState {
        val noise = TrainData.noiseFeatures()
        val rng = Pcg64.seeded(5).also { r -> repeat(7) { r.nextRaw() } }
        return LearnerState.initial(manifest, TrainData.bundle.weights()).copy(
            labels = manifest.labels + "noise",
            live = listOf(manifest.labels[0], "noise"),
            replayFeatures = noise,
            replayLabels = NdArray.Int64(intArrayOf(noise.shape[0]), LongArray(noise.shape[0]) {
                3
            }),
            rng = rng.state,
        )
    }

    private fun folder(name: String) = File(Fixtures.out, "state/$name").apply {
        deleteRecursively()
        mkdirs()
    }

    @Test
    fun `a saved state loads back whole`() {
        val dir = folder("roundtrip")
        val state = learned()
        val store = StateStore(dir, manifest)
        assertIs<StateLoad.Missing>(store.load())
        store.save(state)
        val back = assertIs<StateLoad.Loaded>(StateStore(dir, manifest).load()).state
        assertEquals(state.labels, back.labels)
        assertEquals(state.live, back.live)
        for ((name, w) in state.weights) {
            assertContentEquals(w.data, back.weights.getValue(name).data)
        }
        assertContentEquals(state.replayFeatures.data, back.replayFeatures.data)
        assertContentEquals(state.replayLabels.data, back.replayLabels.data)
        assertEquals(0, back.globalLabels.size)
        assertEquals(state.rng, back.rng)
        assertEquals(listOf(StateStore.STATE_FILE), dir.list()!!.toList(), "no file left over")
    }

    @Test
    fun `a save killed before its rename leaves the previous state and its temp is deleted`() {
        val dir = folder("killed")
        val store = StateStore(dir, manifest).apply { load() }
        store.save(learned())
        val saved = store.file.readBytes()
        val temp = File(dir, ".${StateStore.STATE_FILE}.8123.tmp")
        temp.writeBytes(saved.copyOf(saved.size / 3)) // what a kill midway leaves
        val other = File(dir, "notes.tmp").apply { writeText("not ours") }
        val reopened = StateStore(dir, manifest)
        assertTrue(!temp.exists() && other.exists())
        assertIs<StateLoad.Loaded>(reopened.load())
        assertContentEquals(saved, reopened.file.readBytes())
    }

    @Test
    fun `a state holding NaN is not saved and the file keeps what it held`() {
        val dir = folder("nan-save")
        val store = StateStore(dir, manifest).apply { load() }
        store.save(learned())
        val before = store.file.readBytes()
        val bad = learned().let { s ->
            s.copy(weights = s.weights.mapValues { (_, w) ->
                NdArray.Float32(w.shape, w.data.copyOf().also { it[0] = Float.NaN })
            })
        }
        assertFailsWith<TrainingInputError> { store.save(bad) }
        assertContentEquals(before, store.file.readBytes())
        assertFailsWith<IllegalStateException>("save before load") {
            StateStore(folder("unchecked"), manifest).save(learned())
        }
    }

    @Test
    fun `an unusable state is reported, kept untouched, and set aside only when asked`() {
        val good = StateFormat.encode(learned(), manifest.backboneHash)
        val cases = listOf<Pair<String, () -> ByteArray>>(
            "not a readable state" to { good.copyOf(good.size / 2) },
            "not a readable state" to { good.copyOf().also { flip(it, it.size / 3) } },
            "not a readable state" to { ByteArray(0) },
            "not a readable state" to { "{\"labels\": []}".toByteArray() },
            "another bundle" to { StateFormat.encode(learned(), "0".repeat(64)) },
            "not finite float32" to { edit(good) { it["w:head.fc2.bias"] = floats(5) } },
            "not finite float32" to {
                val nan = floats(4).also { a -> a.data[2] = Float.NaN }
                edit(good) { it["w:head.fc2.bias"] = nan }
            },
            "not finite float32" to { edit(good) { it.remove("w:head.fc1.weight_t") } },
            "replay_features hold NaN" to {
                edit(good) { it["replay_features"] = nanRows(it["replay_features"]!!) }
            },
            "replay_features" to {
                val narrow = NdArray.Float32(intArrayOf(5, 3), FloatArray(15))
                edit(good) { it["replay_features"] = narrow }
            },
            "slots below" to { // slot 9 of a bundle of 4
                edit(good) { it["replay_labels"] = NdArray.of(LongArray(5) { 9 }) }
            },
            "labels do not fit" to { meta(good, "labels", listOf("a", "b", "c", "d", "e")) },
            "labels do not fit" to { meta(good, "live", listOf("zzz")) },
            "random-draw state" to { // an even increment: not a PCG stream
                metaText(good) { it.replace(Regex("\"inc\": \\d+"), "\"inc\": 2") }
            },
            "meta is not readable" to { metaText(good) { it.replace("\"rng\"", "\"gnr\"") } },
            "meta is not UTF-8" to {
                edit(good) { it["meta"] = NdArray.UInt8(intArrayOf(2), byteArrayOf(-1, 2)) }
            },
        )
        for ((i, case) in cases.withIndex()) {
            val (why, make) = case
            val dir = folder("corrupt-$i")
            val bytes = make()
            File(dir, StateStore.STATE_FILE).writeBytes(bytes)
            val store = StateStore(dir, manifest)
            val corrupt = assertIs<StateLoad.Corrupt>(store.load(), "case $i ($why)")
            assertTrue(why in corrupt.reason, "case $i: '${corrupt.reason}' does not say '$why'")
            assertFailsWith<IllegalStateException>("case $i: saved over") { store.save(learned()) }
            assertContentEquals(bytes, corrupt.file.readBytes(), "case $i: the file changed")
            val aside = store.setAside()
            assertTrue(Regex("learner_state\\.npz\\.corrupt-\\d{8}T\\d{6}Z").matches(aside.name))
            assertContentEquals(bytes, aside.readBytes(), "case $i: nothing lost")
            assertIs<StateLoad.Missing>(store.load())
            store.save(learned()) // the app starts again from the bundle, then saves
            assertIs<StateLoad.Loaded>(StateStore(dir, manifest).load())
            assertEquals(2, dir.list()!!.size)
        }
    }

    private fun flip(bytes: ByteArray, at: Int) {
        bytes[at] = (bytes[at].toInt() xor 0x10).toByte()
    }

    private fun floats(n: Int) = NdArray.Float32(intArrayOf(n), FloatArray(n))

    private fun nanRows(a: NdArray): NdArray {
        val f = a as NdArray.Float32
        return NdArray.Float32(f.shape, f.data.copyOf().also { it[f.size - 1] = Float.NaN })
    }

    private fun edit(bytes: ByteArray, change: (MutableMap<String, NdArray>) -> Unit): ByteArray =
        Npz.write(Npz.read(bytes).also(change))

    /** [bytes] with the meta field [key] set to the strings [value]. */
    private fun meta(bytes: ByteArray, key: String, value: List<String>): ByteArray =
        metaText(bytes) { text ->
            val fields = LinkedHashMap((Json.parse(text) as Json.Obj).fields)
            fields[key] = Json.arr(value.map(Json::of))
            Json.Obj(fields).write()
        }

    /** [bytes] with the meta JSON text changed by [change]. */
    private fun metaText(bytes: ByteArray, change: (String) -> String): ByteArray =
        edit(bytes) { arrays ->
            val m = arrays["meta"] as NdArray.UInt8
            val text = change(String(m.data, Charsets.UTF_8)).toByteArray()
            arrays["meta"] = NdArray.UInt8(intArrayOf(text.size), text)
        }
}
