package ai.edgekit.demo.core.bundle

import ai.edgekit.demo.core.detect.DetectConfig
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.npy.Npz
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.update.HubUpdate
import org.junit.Test
import java.io.File
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * A bundle exported by the Python SDK (`edgekit.export`), read as the app reads it, against
 * what Python reads in it (bundle_expected.json); the files this side writes from it go to the
 * Python side, which reads them with numpy and `edgekit.device.hub_update.unpack_update`.
 */
class BundleTest {
    private val expected: Fields
        get() = Fields(Fixtures.json("bundle_expected.json") as Json.Obj, "expected")

    @Test
    fun `the exported manifest reads with the values Python reads`() {
        val m = BundleFolder.open(Fixtures.bundle).manifest
        val e = expected
        assertEquals(e.strings("labels"), m.labels)
        assertEquals(e.int("max_classes"), m.maxClasses)
        assertEquals(e.int("feature_size"), m.featureSize)
        assertEquals(e.int("clip_samples"), m.clipSamples)
        assertEquals(e.int("sample_rate"), m.sampleRate)
        assertEquals(e.int("train_batch"), m.trainBatch)
        assertEquals(e.int("max_batch"), m.maxBatch)
        assertEquals(
            e.objects("trainable").map { it.string("name") to it.longs("shape").map(Long::toInt) },
            m.trainable.map { it.name to it.shape.toList() },
        )
        assertEquals(DetectConfig.from(e.obj("detection")), m.detection)
        assertEquals(Manifest.REQUIRED_FILES, m.files.keys)
    }

    @Test
    fun `weights and D0 are the arrays Python exported`() {
        val bundle = BundleFolder.open(Fixtures.bundle)
        val e = expected
        val weights = bundle.weights()
        assertEquals(bundle.manifest.trainable.map { it.name }, weights.keys.toList())
        val values = e.obj("weights")
        for ((name, array) in weights) {
            assertContentEquals(floats(values.list(name)), array.data, name)
        }
        val (features, labels) = bundle.d0()
        assertContentEquals(floats(e.list("d0_features")), features.data)
        assertContentEquals(e.longs("d0_labels").toLongArray(), labels.data)
    }

    @Test
    fun `a bundle changed after export is refused, naming what changed`() {
        val manifest = File(Fixtures.bundle, Manifest.FILE).readText()
        val batch = Regex("\"train_batch\": (\\d+)")
        val edited = manifest.replace(batch) { "\"train_batch\": ${it.groupValues[1].toInt() + 1}" }
        val cases = listOf<Pair<String, (File) -> Unit>>(
            "content digest" to { f -> File(f, Manifest.FILE).writeText(edited) },
            "schema" to { f ->
                File(f, Manifest.FILE).writeText(manifest.replace("\"schema\": 5", "\"schema\": 4"))
            },
            "does not match its sha256" to { f -> File(f, "d0.npz").appendBytes(ByteArray(1)) },
            "is missing" to { f -> File(f, "d0.npz").delete() },
            "not part of the bundle" to { f -> File(f, "notes.txt").writeText("extra") },
            "not an edgekit bundle" to { f -> File(f, Manifest.FILE).delete() },
        )
        for ((why, damage) in cases) {
            val copy = File(Fixtures.out, "damaged-bundle")
            copy.deleteRecursively()
            Fixtures.bundle.copyRecursively(copy)
            damage(copy)
            val error = assertFailsWith<CorruptBundle>(why) { BundleFolder.open(copy) }
            assertTrue(why in error.message!!, "'${error.message}' does not say '$why'")
            copy.deleteRecursively()
        }
    }

    @Test
    fun `what this side writes from the bundle, Python reads`() {
        val bundle = BundleFolder.open(Fixtures.bundle)
        val m = bundle.manifest
        val exported = Npz.read(File(Fixtures.bundle, "weights.npz"))
        File(Fixtures.out, "weights_roundtrip.npz").writeBytes(Npz.write(exported))
        val (features, _) = bundle.d0()
        val n = features.shape[0]
        val live = m.labels.size
        val slots = m.maxClasses
        val scores = FloatArray(n * slots) { if (it % slots < live) 1f / live else 0f }
        val update = HubUpdate(
            bundle.weights(),
            m.labels + List(m.maxClasses - live) { "" },
            NdArray.Float32(intArrayOf(n, m.maxClasses), scores),
        )
        val bytes = update.pack()
        File(Fixtures.out, "update.npz").writeBytes(bytes)
        val back = HubUpdate.unpack(bytes)
        assertEquals(update.slotLabels, back.slotLabels)
        assertEquals(update.trainable.keys, back.trainable.keys)
        assertContentEquals(scores, back.d0Scores.data)
    }

    private fun floats(values: List<Json>): FloatArray =
        FloatArray(values.size) { (values[it] as Json.Num).toDouble().toFloat() }
}
