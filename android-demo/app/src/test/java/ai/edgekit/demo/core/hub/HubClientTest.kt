package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.signing.UpdateRefused
import ai.edgekit.demo.core.testing.Fixtures
import ai.edgekit.demo.core.update.HubUpdate
import org.junit.Test
import java.io.File
import java.net.ServerSocket
import java.security.MessageDigest
import java.time.ZoneOffset
import java.time.ZonedDateTime
import java.time.format.DateTimeFormatter
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The app's hub client against a real `edgekit-hub serve`, started and given its versions by
 * tests/android/hub_served.py: a cut download resumes, a second version installs beside the
 * last good one and reverts, what the pinned key did not sign, a damaged file or an older
 * version is refused with nothing changed, a low battery holds the download back, and an update
 * built with [HubUpdate] is accepted (tests/android/test_kotlin_hub.py then finds it in the
 * hub). Each test is a device of its own under `out/hub/<name>`; each case a model family of its
 * own on the hub, whose next version is held back until the test releases it.
 */
class HubClientTest {
    private val hub = Fields.parse(Fixtures.hub.readText(Charsets.UTF_8), "the hub's fixture")
    private val url = hub.string("url")
    private val pinned = SignedMetadata.loadPublicKey(hub.string("public_key"))
    private val charged = DeviceReport(battery = 0.9, charging = true, wifi = true)

    @Test
    fun `a cut download resumes, a new version installs beside the last good one, revert`() {
        val client = device("installer", "install")
        val first = assertNotNull(client.checkIn(charged))
        assertEquals(1L, first.number)
        assertNull(first.wait)
        val program = File(Fixtures.bundle, "model.pte").readBytes()
        val half = program.size / 2L
        val part = File(client.root, "staging/1/bundle/model.pte.part")
        part.parentFile.mkdirs()
        part.writeBytes(program.copyOf(half.toInt())) // the connection was cut half-way
        val garbage = "not what the hub sends".toByteArray() // a .part that is not the file's
        File(part.parentFile, "d0.npz.part").writeBytes(garbage)
        val stage = client.download(first)
        assertEquals(half + garbage.size, client.traffic.resumed, "${client.traffic}")
        // every file but the half already here, and D0 fetched whole once more after its rest
        val d0 = File(Fixtures.bundle, "d0.npz").length()
        val rest = first.totalBytes - half - garbage.size + d0
        assertTrue(client.traffic.down in rest..rest + REPLIES, "${client.traffic}")
        assertEquals(1L, client.install(stage))
        assertFalse(stage.exists())
        val parts = client.root.walk().filter { it.name.endsWith(".part") }.toList()
        assertEquals(emptyList<File>(), parts)
        val original = BundleFolder.open(Fixtures.bundle).manifest.digest
        assertEquals(original, BundleFolder.open(assertNotNull(client.bundle)).manifest.digest)
        assertNull(client.previousBundle)
        val firstFolder = client.bundle?.parentFile

        release("install") // version 2: new weights, the same program and D0
        val second = assertNotNull(client.checkIn(charged))
        assertEquals(2L, second.number)
        val known = first.files.map { it.sha256 }.toSet()
        val changed = second.files.filter { it.sha256 !in known }.sumOf { it.size }
        val (down, reused) = client.traffic.down to client.traffic.reused
        assertEquals(2L, client.install(client.download(second)))
        assertEquals(second.totalBytes - changed, client.traffic.reused - reused)
        assertTrue(client.traffic.down - down in changed..changed + REPLIES, "${client.traffic}")
        assertEquals(firstFolder, client.previousBundle?.parentFile)
        val previous = BundleFolder.open(assertNotNull(client.previousBundle))
        assertEquals(original, previous.manifest.digest) // the last good version, whole
        assertEquals(2, File(client.root, "versions").list()?.size)

        assertNull(client.update(charged)) // nothing newer
        assertEquals(2L, client.installed())
        assertEquals(1L, client.revert())
        assertNull(client.revert())
        assertEquals(original, BundleFolder.open(assertNotNull(client.bundle)).manifest.digest)
        val again = client.traffic.down
        assertEquals(2L, client.update(charged)) // offered again: its files are still kept here
        assertTrue(client.traffic.down - again < REPLIES, "${client.traffic}")

        val older = assertFailsWith<UpdateRefused> { client.download(first) } // validly signed
        assertEquals("rollback", older.reason)
        assertEquals(2L, client.installed())
        BundleFolder.open(assertNotNull(client.bundle))
        assertNull(client.checkIn(charged)) // the hub hears that version 2 runs here
    }

    @Test
    fun `what the pinned key did not sign or a damaged file is refused, and nothing changes`() {
        val other = SignedMetadata.loadPublicKey(hub.string("other_public_key"))
        val stranger = device("stranger", "post", key = other)
        val unsigned = assertFailsWith<UpdateRefused> { stranger.update(charged) }
        assertEquals("signature", unsigned.reason)
        assertNull(stranger.installed())
        assertNull(stranger.bundle)
        assertTrue(stranger.traffic.down < REPLIES, "refused before any file came")

        val client = device("damaged", "damaged")
        assertEquals(1L, client.update(charged))
        release("damaged") // version 2, whose weights.npz the hub's store holds damaged
        val offer = assertNotNull(client.checkIn(charged))
        assertEquals(2L, offer.number)
        val damaged = assertFailsWith<UpdateRefused> { client.download(offer) }
        assertEquals("files", damaged.reason)
        assertTrue("weights.npz" in damaged.message.orEmpty(), damaged.message)
        assertEquals(1L, client.installed())
        BundleFolder.open(assertNotNull(client.bundle)) // the installed version, whole
        assertNull(client.previousBundle)
        assertEquals(1, File(client.root, "versions").list()?.size)

        val forged = Offer(offer.number, offer.metadataUrl, ByteArray(64), offer.files, 0, null)
        assertEquals("signature", assertFailsWith<UpdateRefused> { client.download(forged) }.reason)
        val away = "http://127.0.0.2:${port()}/v1/blobs/${"0".repeat(64)}" // token stays home
        val elsewhere = Offer(offer.number, away, offer.signature, offer.files, 0, null)
        val refused = assertFailsWith<HubError> { client.download(elsewhere) }
        assertNull(refused.status)
        assertTrue("not on the hub" in refused.detail, refused.detail)
        assertEquals(1L, client.installed())
    }

    @Test
    fun `short of storage or low on battery and not charging, the device downloads nothing`() {
        val client = device("waiter", "post")
        val full = charged.copy(freeBytes = 1000)
        assertNull(client.update(full))
        assertEquals("storage", client.waiting)
        assertNull(client.update(DeviceReport(battery = 0.1, charging = false, wifi = true)))
        assertEquals("charging", client.waiting)
        assertNull(client.installed())
        assertFalse(File(client.root, "staging").exists())
        assertTrue(client.traffic.down < REPLIES, "${client.traffic}")
    }

    @Test
    fun `an update trained from the installed version is accepted, one with a word it lacks not`() {
        val client = device("poster", "post")
        assertEquals(1L, client.update(charged))
        val bundle = BundleFolder.open(assertNotNull(client.bundle))
        val m = bundle.manifest
        val n = bundle.d0().first.shape[0]
        val live = m.labels.size
        val slots = m.maxClasses
        val rows = FloatArray(n * slots) { if (it % slots < live) 1f / live else 0f } // softmax
        val scores = NdArray.Float32(intArrayOf(n, slots), rows)
        val trained = bundle.weights().mapValues { (_, w) ->
            NdArray.Float32(w.shape, FloatArray(w.data.size) { w.data[it] + DELTA })
        }
        val update = HubUpdate(trained, m.labels + List(slots - live) { "" }, scores)

        val up = client.traffic.up
        val metered = DeviceReport(battery = 0.9, charging = true, wifi = false)
        assertNull(client.postUpdateWhenAllowed(update, EXAMPLES, metered))
        assertEquals("wifi", client.postWaiting)
        assertEquals(up, client.traffic.up) // nothing sent
        val posted = assertNotNull(client.postUpdateWhenAllowed(update, EXAMPLES, charged))
        assertNull(client.postWaiting)
        assertNull(posted.newVersion) // one update does not make a round of aggregation
        val body = update.pack()
        assertEquals(up + body.size, client.traffic.up)

        // a slot trained for a word the version does not have (one the user enrolled alone)
        val foreign = HubUpdate(trained, m.labels + List(slots - live) { "mine" }, scores)
        val refused = assertFailsWith<HubError> { client.postUpdate(foreign, EXAMPLES) }
        assertEquals(422, refused.status)
        assertTrue("labels" in refused.detail, refused.detail)

        File(Fixtures.out, "hub_update.npz").writeBytes(body)
        val sha = MessageDigest.getInstance("SHA-256").digest(body)
        val record = Json.obj(
            "device_id" to Json.of(assertNotNull(client.deviceId)),
            "update_id" to Json.of(posted.updateId),
            "version" to Json.of(1L),
            "examples" to Json.of(EXAMPLES),
            "sha256" to Json.of(sha.joinToString("") { "%02x".format(it) }),
            "delta" to Json.of(DELTA.toDouble()),
        )
        File(Fixtures.out, "hub_update.json").writeText(record.write())
    }

    @Test
    fun `failed requests are typed errors with the hub's status and detail`() {
        val unregistered = HubClient(url, fresh("unregistered"), pinned)
        assertNull(unregistered.deviceId)
        assertFailsWith<IllegalStateException> { unregistered.checkIn() }
        val closed = HubClient("http://127.0.0.1:${port()}", fresh("closed"), pinned)
        assertNull(assertFailsWith<HubError> { closed.register("kws", "tcresnet") }.status)

        val client = device("asker", "post")
        val again = HubClient(url, client.root, pinned) // registration kept in hub.json
        assertEquals(client.deviceId, again.deviceId)
        val nothing = Offer(1, "/v1/blobs/${"0".repeat(64)}", ByteArray(64), emptyList(), 0, null)
        val missing = assertFailsWith<HubError> { again.download(nothing) }
        assertEquals(404, missing.status)
        assertEquals("no such file for this device", missing.detail)

        val login = "dashboard/login?token=${hub.string("admin_token")}" // answers 303
        val moved = assertFailsWith<HubError> { HubHttp(url).open("GET", login, auth = false) }
        assertEquals(303, moved.status) // a redirect is not followed: it would carry the token

        assertEquals(3.0, HubHttp.retryAfterSeconds("3"))
        val now = ZonedDateTime.of(2030, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC)
        val date = DateTimeFormatter.RFC_1123_DATE_TIME.format(now.plusSeconds(90))
        assertEquals(90.0, HubHttp.retryAfterSeconds(date, now))
        assertNull(HubHttp.retryAfterSeconds("soon"))
        val limited = HubError("POST v1/devices", 429, "too many requests", 3.0)
        val said = "POST v1/devices: HTTP 429: too many requests (retry after 3 s)"
        assertEquals(said, limited.message)
    }

    /** A device of its own, registered for the family the hub published for [case]. */
    private fun device(name: String, case: String, key: ByteArray = pinned): HubClient {
        val client = HubClient(url, fresh(name), key)
        client.register(hub.obj("families").string(case), hub.string("architecture"))
        return client
    }

    private fun fresh(name: String): File =
        File(Fixtures.out, "hub/$name").also { it.deleteRecursively() }

    /** As the hub's admin: release the version held back for [case] to every device. */
    private fun release(case: String) {
        val admin = HubHttp(url).also { it.token = hub.string("admin_token") }
        val body = hub.obj("held_back").raw(case)
        val reply = Fields(admin.json("POST", "v1/admin/releases", body), "the release")
        assertEquals(100.0, reply.double("percent"))
    }

    private fun port(): Int = ServerSocket(0).use { it.localPort } // free: nothing listens

    private companion object {
        const val REPLIES = 16_384L // bytes of JSON replies and signed metadata, at most
        const val EXAMPLES = 3
        const val DELTA = 0.25f
    }
}
