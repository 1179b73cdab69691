package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.hub.VersionFolders.Companion.BUNDLE
import ai.edgekit.demo.core.hub.VersionFolders.Companion.CURRENT
import ai.edgekit.demo.core.hub.VersionFolders.Companion.METADATA
import ai.edgekit.demo.core.hub.VersionFolders.Companion.PREVIOUS
import ai.edgekit.demo.core.hub.VersionFolders.Companion.SIGNATURE
import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.signing.Ed25519
import ai.edgekit.demo.core.signing.SignedMetadata
import ai.edgekit.demo.core.signing.UpdateRefused
import ai.edgekit.demo.core.signing.VersionMetadata
import ai.edgekit.demo.core.signing.sha256Hex
import ai.edgekit.demo.core.signing.verifyFiles
import ai.edgekit.demo.core.update.HubUpdate
import java.io.File
import java.nio.file.Files
import java.time.Instant
import java.util.stream.Collectors

/**
 * A device's client of the hub (`edgekit-hub serve`), the app's port of
 * `edgekit/device/hub_client.py`: register, check in, download an offered version (resumable),
 * verify it against the pinned public key, install it atomically beside the last good one, post
 * training updates. Blocking calls, one at a time (not thread-safe): run them off the main
 * thread, from one worker.
 *
 *     val client = HubClient(url, File(filesDir, "hub"), SignedMetadata.loadPublicKey(PINNED))
 *     if (client.deviceId == null) client.register("kws", "tcresnet") // once
 *     client.update(DeviceReport(battery = 0.8, charging = true, wifi = true)) // a new bundle?
 *     client.postUpdateWhenAllowed(HubUpdate(...), examples = clips, report)
 *
 * Files under [root]: `hub.json` ([HubIdentity]), `current`, `previous` and `versions/`
 * ([VersionFolders]: pointer files, not links), `staging/<n>/` (a download in progress: finished
 * files and `<file>.part`).
 *
 * Trust, in order: the signed metadata is fetched and checked first
 * ([SignedMetadata.verify]: signature over the received bytes, expiry, model, no rollback below
 * the installed number); each file is then fetched to the size and sha256 the signed metadata
 * gives (the offer's own figures must agree and are never used alone) by [FileFetcher]; a file
 * a kept version already has (same sha256, hashed again) is copied instead of downloaded; the
 * staged folder is verified whole ([verifyFiles]) before `current` moves. Refusals throw
 * [UpdateRefused]; failed requests [HubError]; the token goes to the hub's origin only
 * ([HubHttp]).
 */
class HubClient(
    url: String,
    val root: File,
    publicKey: ByteArray, // Ed25519, 32 bytes: the hub's `key.pub`
    timeoutMillis: Int = 60_000,
    private val clock: () -> Instant = Instant::now,
) {
    private val http = HubHttp(url, timeoutMillis)
    private val fetcher = FileFetcher(http)
    private val folders = VersionFolders(root)
    private val publicKey = publicKey.copyOf()
    private var identity: HubIdentity?

    /** The hub's URL, ending in `/`. */
    val url: String = http.url

    /** Bytes moved since this client was made. */
    val traffic: Traffic get() = http.traffic

    /** What the last offer said to wait for ("storage", "charging", "wifi"), or null. */
    var waiting: String? = null
        private set

    /** What the last [postUpdateWhenAllowed] waits for ([PostPolicy.waitFor]), or null. */
    var postWaiting: String? = null
        private set

    init {
        if (publicKey.size != Ed25519.KEY_BYTES) {
            throw UpdateRefused("key", "the pinned public key must be ${Ed25519.KEY_BYTES} bytes")
        }
        root.mkdirs()
        identity = HubIdentity.read(File(root, IDENTITY))
        if (deviceId != null) http.token = identity?.token
    }

    /** The id this hub gave the device (null: not registered with it). */
    val deviceId: String? get() = identity?.takeIf { it.hub == url }?.deviceId

    /** Register as a device running [family] / [architecture] on [channel]; its id. */
    fun register(family: String, architecture: String, channel: String = "stable"): String {
        val body = Json.obj(
            "family" to Json.of(family),
            "architecture" to Json.of(architecture),
            "channel" to Json.of(channel),
        )
        val reply = http.json("POST", "v1/devices", body, auth = false)
        val id = (reply["device_id"] as? Json.Str)?.value
        val token = (reply["token"] as? Json.Str)?.value
        if (id == null || token == null) {
            throw HubError("POST v1/devices", 201, "the reply lacks device_id or token")
        }
        val registered = HubIdentity(url, id, token, family, architecture, channel)
        registered.write(File(root, IDENTITY))
        identity = registered
        http.token = token
        return id
    }

    /** The installed version's number (null: none yet). */
    fun installed(): Long? = folders.metadata(CURRENT)?.let { SignedMetadata.parse(it).version }

    /** The installed bundle's folder (null: none yet). */
    val bundle: File? get() = folders.folder(CURRENT)?.let { File(it, BUNDLE) }

    /** The last good version's bundle, kept until the next install (null: none). */
    val previousBundle: File? get() = folders.folder(PREVIOUS)?.let { File(it, BUNDLE) }

    /** Report the device's state; the version the hub offers, or null. */
    fun checkIn(report: DeviceReport = DeviceReport()): Offer? {
        val body = report.toJson(installed(), root.usableSpace)
        val raw = http.json("POST", "v1/devices/check-in", body)["offer"]
            ?: throw HubError("POST v1/devices/check-in", 200, "the reply lacks 'offer'")
        val offer = if (raw == Json.Null) null else Offer.parse(raw)
        waiting = offer?.wait
        return offer
    }

    /**
     * Check in and, when a version is offered with nothing to wait for, download, verify and
     * install it: its number, or null (nothing offered, or [waiting] says why not).
     */
    fun update(report: DeviceReport = DeviceReport()): Long? {
        val offer = checkIn(report)
        if (offer == null || offer.wait != null) return null
        return install(download(offer))
    }

    /** Fetch [offer] into `staging/<n>` and verify it; the staged folder, for [install]. */
    fun download(offer: Offer): File {
        val metadata = http.read(http.open("GET", offer.metadataUrl), "metadata")
        val meta = verify(metadata, offer.signature)
        val urls = offer.urls(meta)
        val staging = File(root, "staging")
        val stage = File(staging, meta.version.toString())
        for (other in staging.listFiles().orEmpty()) {
            if (other.name != stage.name) AtomicFiles.remove(other) // another version, abandoned
        }
        val folder = File(stage, BUNDLE).also { it.mkdirs() }
        AtomicFiles.write(File(stage, METADATA), metadata)
        AtomicFiles.write(File(stage, SIGNATURE), offer.signature)
        val local = folders.knownFiles()
        for ((name, entry) in meta.files.toSortedMap()) {
            val target = File(folder, name)
            if (target.isFile && sha256Hex(target) == entry.sha256) continue // an earlier call's
            target.parentFile.mkdirs()
            val have = local[entry.sha256]
            if (have != null && have.isFile && sha256Hex(have) == entry.sha256) {
                AtomicFiles.copy(have, target)
                traffic.reused += entry.size
            } else {
                fetcher.fetch(urls.getValue(name), target, name, entry, meta.version)
            }
        }
        removeLeftovers(folder, meta)
        verifyFiles(meta, folder)
        return stage
    }

    /**
     * Make the staged version current (checked again, then one atomic replacement of the
     * `current` pointer); the one it replaces becomes previous. Its number.
     */
    fun install(stage: File): Long {
        val meta = verify(File(stage, METADATA).readBytes(), File(stage, SIGNATURE).readBytes())
        verifyFiles(meta, File(stage, BUNDLE))
        folders.install(stage, meta.version)
        return meta.version
    }

    /**
     * Go back to the last good version (e.g. when the new one fails to load); its number, or
     * null when there is none to go back to.
     */
    fun revert(): Long? = if (folders.revert()) installed() else null

    /**
     * Send a training update ([HubUpdate.pack]'s bytes) trained on [examples] clips from
     * [version] (default: the installed one); the hub's answer. A refused update is a [HubError]
     * with status 422 and the hub's reason in its detail.
     */
    fun postUpdate(body: ByteArray, examples: Int, version: Long? = null): PostedUpdate {
        val base = checkNotNull(version ?: installed()) {
            "no version is installed: an update is trained from one"
        }
        val path = "v1/devices/updates?version=$base&examples=$examples"
        return PostedUpdate.parse(http.json("POST", path, raw = body))
    }

    fun postUpdate(update: HubUpdate, examples: Int, version: Long? = null): PostedUpdate =
        postUpdate(update.pack(), examples, version)

    /**
     * [postUpdate] when [PostPolicy] lets the device send it now, given [report]; null (and
     * [postWaiting] says why) when it should keep the update for later.
     */
    fun postUpdateWhenAllowed(
        update: HubUpdate,
        examples: Int,
        report: DeviceReport,
        version: Long? = null,
    ): PostedUpdate? {
        postWaiting = PostPolicy.waitFor(report)
        return if (postWaiting != null) null else postUpdate(update, examples, version)
    }

    private fun verify(metadata: ByteArray, signature: ByteArray): VersionMetadata =
        SignedMetadata.verify(
            metadata,
            signature,
            publicKey,
            installed = installed(),
            family = identity?.family,
            architecture = identity?.architecture,
            now = clock(),
        )

    /** Files of another attempt that are not the version's: `.part` files and strays. */
    private fun removeLeftovers(folder: File, meta: VersionMetadata) {
        val base = folder.toPath()
        val stray = Files.walk(base).use { paths ->
            paths.filter { Files.isRegularFile(it) }
                .filter { base.relativize(it).joinToString("/") !in meta.files }
                .collect(Collectors.toList()) // Stream.toList() needs Android 14
        }
        for (path in stray) Files.deleteIfExists(path)
    }

    private companion object {
        const val IDENTITY = "hub.json"
    }
}
