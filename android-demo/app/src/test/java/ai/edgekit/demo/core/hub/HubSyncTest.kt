package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.train.TrainData
import ai.edgekit.demo.core.update.RecordedClassify
import ai.edgekit.demo.core.update.UpdateData
import ai.edgekit.demo.core.update.UpdateLedger
import org.junit.Test
import java.io.File
import kotlin.test.assertEquals
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The app's Sync against a real `edgekit-hub serve` (tests/android/hub_served.py, family
 * `sync`): it registers once, installs the version offered, which the app then runs
 * ([BundleSource]); the update of a state trained on it (Python's `update_body` case
 * "personal", its D0 logits replayed from the Python runtime) waits for an unmetered network,
 * goes out once, and is not sent again; a bundle pushed by hand sends none.
 * tests/android/test_kotlin_hub.py then finds the posted update in the hub, equal to Python's.
 */
class HubSyncTest {
    private val hub = Fields.parse(Fixtures.hub.readText(Charsets.UTF_8), "the hub's fixture")
    private val config = HubConfig(
        hub.string("url"),
        SignedMetadata.loadPublicKey(hub.string("public_key")),
        hub.obj("families").string("sync"),
        hub.string("architecture"),
        hub.string("channel"),
    )
    private val charged = DeviceReport(battery = 0.9, charging = true, wifi = true)

    @Test
    fun `a sync registers, installs, then posts a trained state's update once`() {
        val dir = File(Fixtures.out, "hub/sync").apply { deleteRecursively() }
        val root = File(dir, "hub")
        val ledger = UpdateLedger(File(dir, "posted.json"))
        val first = HubSync(config, root, ledger).sync(charged, running = null)
        assertTrue(first.registered)
        assertEquals("no model is running", assertIs<PostOutcome.Held>(first.post).reason)
        assertNull(first.installedBefore)
        assertEquals(1L, first.installed)
        assertNull(first.checkInError)

        val choice = BundleSource(root, Fixtures.bundle).choose()
        assertEquals(1L, choice.version)
        val bundle = BundleFolder.open(choice.folder) // checked as the app opens it
        val case = UpdateData.case("personal")
        val noise = TrainData.noiseFeatures()
        val examples = noise.shape[0]
        val state = case.state.copy(
            replayFeatures = noise, // the clips a session cached, of the live word in slot 1
            replayLabels = NdArray.Int64(intArrayOf(examples), LongArray(examples) { 1 }),
        )
        val d0 = bundle.d0().first
        val running = RunningModel(choice.folder, RecordedClassify(case), state, d0)

        val sync = HubSync(config, root, ledger) // the app started again: registration kept
        val metered = sync.sync(DeviceReport(battery = 0.9, charging = true, wifi = false), running)
        assertEquals(first.deviceId, metered.deviceId)
        assertTrue(!metered.registered)
        assertEquals("waiting for wifi", assertIs<PostOutcome.Held>(metered.post).reason)
        assertNull(metered.installed, "nothing new")
        assertNull(ledger.last())

        val posted = assertIs<PostOutcome.Posted>(sync.sync(charged, running).post)
        assertEquals(examples, posted.examples)
        assertNull(posted.update.newVersion)
        assertEquals(posted.update.updateId, ledger.last()!!.updateId)
        val again = sync.sync(charged, running)
        assertTrue("posted already" in assertIs<PostOutcome.Held>(again.post).reason)

        val pushed = RunningModel(Fixtures.bundle, RecordedClassify(case), state, d0)
        val held = assertIs<PostOutcome.Held>(sync.sync(charged, pushed).post)
        assertTrue("pushed by hand" in held.reason, held.reason)

        val record = Json.obj(
            "device_id" to Json.of(first.deviceId),
            "update_id" to Json.of(posted.update.updateId),
            "examples" to Json.of(examples),
            "case" to Json.of(case.name),
        )
        File(Fixtures.out, "hub_sync.json").writeText(record.write())
    }
}
