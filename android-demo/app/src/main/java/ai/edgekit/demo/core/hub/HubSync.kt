package ai.edgekit.demo.core.hub

import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.KwsProgram
import ai.edgekit.demo.core.signing.UpdateRefused
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.core.update.UpdateBuilder
import ai.edgekit.demo.core.update.UpdateDue
import ai.edgekit.demo.core.update.UpdateLedger
import java.io.File
import java.io.IOException

/** The model the app runs, as a sync needs it to send its update: the bundle [folder] it was
 * opened from, its [program], the [state] trained on it and the bundle's D0 features. */
class RunningModel(
    val folder: File,
    val program: KwsProgram,
    val state: LearnerState,
    val d0Features: NdArray.Float32,
)

/** What became of the training update in one sync. */
sealed class PostOutcome {
    class Posted(val update: PostedUpdate, val examples: Int) : PostOutcome()

    class Held(val reason: String) : PostOutcome()

    class Failed(val message: String) : PostOutcome()
}

/**
 * What one [HubSync.sync] did, for the screen: the device's id ([registered] now or before),
 * the update's fate ([post]), the version installed before and the one installed now (null:
 * none; the app then opens it), what the hub said to wait for ([waiting]) and why checking in
 * failed ([checkInError], null when it did not).
 */
class SyncReport(
    val deviceId: String,
    val registered: Boolean,
    val post: PostOutcome,
    val installedBefore: Long?,
    val installed: Long?,
    val waiting: String?,
    val checkInError: String?,
)

/**
 * One sync with the hub of [config], the client's files under [root]: register once, send the
 * running model's training update when one is due ([UpdateLedger.due], then the send
 * conditions of [PostPolicy]: unmetered network, not on a low battery unless charging), then
 * check in and install the version offered, unless the hub says to wait. The update goes first:
 * it was trained on the version running now, before a new one replaces it. Blocking; call it
 * off the UI thread, one sync at a time.
 */
class HubSync(private val config: HubConfig, root: File, private val ledger: UpdateLedger) {
    val client = HubClient(config.url, root, config.publicKey)

    /** Registration and request failures throw [HubError]; the update's and the check-in's
     * are in the report. */
    fun sync(report: DeviceReport, running: RunningModel?): SyncReport {
        val registered = client.deviceId == null
        val id = client.deviceId
            ?: client.register(config.family, config.architecture, config.channel)
        val post = try {
            post(report, running)
        } catch (e: HubError) {
            PostOutcome.Failed(e.message ?: e.toString())
        } catch (e: IOException) {
            PostOutcome.Failed("the update could not be sent ($e)")
        }
        val before = client.installed()
        var error: String? = null
        val installed = try {
            client.update(report)
        } catch (e: HubError) {
            error = e.message
            null
        } catch (e: UpdateRefused) {
            error = e.message
            null
        } catch (e: IOException) {
            error = "the download failed ($e)"
            null
        }
        return SyncReport(id, registered, post, before, installed, client.waiting, error)
    }

    private fun post(report: DeviceReport, running: RunningModel?): PostOutcome {
        if (running == null) return PostOutcome.Held("no model is running")
        val hubBundle = client.bundle
        val fromHub = hubBundle != null && same(hubBundle, running.folder)
        val version = if (fromHub) client.installed() else null
        val manifest = running.program.manifest
        val due = ledger.due(running.state, manifest, version)
        if (due is UpdateDue.Held) return PostOutcome.Held(due.reason)
        due as UpdateDue.Due
        PostPolicy.waitFor(report)?.let { return PostOutcome.Held("waiting for $it") }
        val update = UpdateBuilder.build(running.program, running.state, running.d0Features)
        val posted = client.postUpdate(update, due.examples, version)
        ledger.record(UpdateLedger.Posted(checkNotNull(version), due.stateSha256, posted.updateId))
        return PostOutcome.Posted(posted, due.examples)
    }

    private fun same(a: File, b: File): Boolean = try {
        a.canonicalFile == b.canonicalFile
    } catch (e: IOException) {
        false
    }
}
