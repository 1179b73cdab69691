package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.Imprint
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.train.Pcg64
import ai.edgekit.demo.core.train.TrainData
import org.junit.Test
import java.io.File
import java.math.BigInteger
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertIs

/**
 * The state file is the Python device's: a state the Python learner saved after enrolling a
 * word (python_state.json says what numpy reads in it) loads here whole, its draws continuing
 * numpy's; what this side saves goes to tests/android/test_kotlin_state.py, where
 * `edgekit.device.state.read_state` and the Python learner read it.
 */
class StateInteropTest {
    private val manifest get() = TrainData.bundle.manifest

    @Test
    fun `a state the Python learner saved loads whole`() {
        val dir = File(Fixtures.out, "state/from-python").apply { deleteRecursively(); mkdirs() }
        val source = File(Fixtures.python, "python_state/${StateStore.STATE_FILE}")
        source.copyTo(File(dir, StateStore.STATE_FILE))
        val store = StateStore(dir, manifest)
        val state = assertIs<StateLoad.Loaded>(store.load()).state
        val expected = TrainData.doc("python_state.json")
        val meta = expected.obj("meta")
        assertEquals(meta.strings("labels"), state.labels)
        assertEquals(meta.strings("live"), state.live)
        val arrays = expected.obj("arrays")
        for ((name, w) in state.weights) assertSame(arrays.obj("w:$name"), w)
        assertSame(arrays.obj("replay_features"), state.replayFeatures)
        assertEquals(arrays.obj("replay_labels").longs("values"), state.replayLabels.data.toList())
        assertSame(arrays.obj("global_features"), state.globalFeatures)
        val rng = Pcg64(state.rng)
        assertEquals(bigs(expected, "next_raws"), List(4) { unsigned(rng.nextRaw()) })
        // written back as this side writes it, beside the bytes it read, for Python to compare
        val out = File(Fixtures.out, "python_state_resaved").apply { deleteRecursively() }
        StateStore(out, manifest).apply { load() }.save(state)
        source.copyTo(File(Fixtures.out, "python_state_original.npz"), overwrite = true)
    }

    @Test
    fun `what this side saves is for Python to read`() {
        val doc = TrainData.doc("imprint.json")
        val slot = doc.int("slot")
        val others = doc.longs("others").map { it.toInt() }.toIntArray()
        val c = Imprint.classifier(manifest.trainable)!!
        val gradient = TrainData.floats(doc.obj("gradients").list(c.weight.name))
        val weights = Imprint.fromGradient(TrainData.bundle.weights(), c, slot, others, gradient)!!
        val noise = TrainData.noiseFeatures()
        val rng = Pcg64.seeded(21).also { r -> repeat(10) { r.nextRaw() } }
        val state = LearnerState.initial(manifest, weights).copy(
            labels = manifest.labels + "noise",
            live = manifest.labels + "noise",
            replayFeatures = noise,
            replayLabels = NdArray.Int64(intArrayOf(noise.shape[0]), LongArray(noise.shape[0]) {
                slot.toLong()
            }),
            rng = rng.state,
        )
        val dir = File(Fixtures.out, "kotlin_state").apply { deleteRecursively() }
        StateStore(dir, manifest).apply { load() }.save(state)
        val next = Pcg64(state.rng)
        val raws = List(3) { Json.Num(unsigned(next.nextRaw()).toString(), isInteger = true) }
        val expected = Json.obj("next_raws" to Json.arr(raws))
        File(Fixtures.out, "kotlin_state.json").writeText(expected.write())
    }

    private fun assertSame(expected: Fields, actual: NdArray.Float32) {
        assertEquals(expected.longs("shape").map { it.toInt() }, actual.shape.toList())
        assertContentEquals(TrainData.floats(expected.list("values")), actual.data)
    }

    private fun bigs(f: Fields, key: String): List<BigInteger> =
        f.list(key).map { (it as Json.Num).toBigInteger()!! }

    private fun unsigned(x: Long) = BigInteger(java.lang.Long.toUnsignedString(x))
}
