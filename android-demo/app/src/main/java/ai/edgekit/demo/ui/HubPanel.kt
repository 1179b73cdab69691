package ai.edgekit.demo.ui

import ai.edgekit.demo.R
import ai.edgekit.demo.core.hub.DeviceReport
import ai.edgekit.demo.core.hub.HubConfig
import ai.edgekit.demo.core.hub.HubClient
import ai.edgekit.demo.core.hub.HubConfigError
import ai.edgekit.demo.core.hub.HubError
import ai.edgekit.demo.core.hub.HubSync
import ai.edgekit.demo.core.hub.PostOutcome
import ai.edgekit.demo.core.hub.RunningModel
import ai.edgekit.demo.core.hub.SyncReport
import ai.edgekit.demo.core.signing.UpdateRefused
import ai.edgekit.demo.core.update.UpdateLedger
import android.view.View
import android.widget.Button
import android.widget.TextView
import java.io.File
import java.io.FileNotFoundException
import java.io.IOException
import java.util.concurrent.Executors

/** Where the hub panel finds its files: the pushed [config] (`hub.json`), the client's [root],
 * the [ledger] of the last update posted, and the phone's [conditions] now. */
class HubFiles(
    val config: File,
    val root: File,
    val ledger: File,
    val conditions: () -> DeviceReport,
)

/**
 * The hub: Sync registers the phone once, sends the training update of the model running now
 * when one is due and the phone may send it, then checks in and installs the version offered
 * ([HubSync], off the UI thread); a version installed is opened at once (the bundle reopens).
 * The panel shows the device's id, the version installed, what the hub or the phone waits for
 * (storage, charging, Wi-Fi), what became of the update, and errors as the hub gave them.
 */
class HubPanel(root: View, private val host: PanelHost, private val files: HubFiles) : Panel {
    private val status: TextView = root.findViewById(R.id.hub_status)
    private val sync: Button = root.findViewById(R.id.hub_sync)
    private val result: TextView = root.findViewById(R.id.hub_result)
    private val worker = Executors.newSingleThreadExecutor { task ->
        Thread(task, "edgekit-hub").apply { isDaemon = true }
    }
    private var bundle: LoadedBundle? = null
    private var syncing = false

    init {
        sync.setOnClickListener { sync() }
    }

    override fun show(state: BundleState) {
        bundle = (state as? BundleState.Ready)?.bundle
        sync.isEnabled = !syncing && state !is BundleState.Loading
        refreshStatus()
    }

    override fun pause() = Unit // a sync in progress finishes: it holds no microphone or model

    override fun close() {
        worker.shutdown()
    }

    private fun sync() {
        val running = bundle?.let { RunningModel(it.folder, it.program, it.state, it.d0Features) }
        syncing = true
        sync.isEnabled = false
        result.text = host.text(R.string.hub_syncing)
        background {
            var installed = false
            val lines = try {
                val text = files.config.readText(Charsets.UTF_8)
                val config = HubConfig.parse(text, files.config.path)
                val report = files.conditions()
                val hub = HubSync(config, files.root, UpdateLedger(files.ledger))
                val done = hub.sync(report, running)
                installed = done.installed != null
                describe(done, report)
            } catch (e: FileNotFoundException) {
                listOf(host.text(R.string.hub_no_config, files.config.path))
            } catch (e: HubConfigError) {
                listOf(e.message)
            } catch (e: HubError) {
                listOf(host.text(R.string.hub_failed, e.message))
            } catch (e: UpdateRefused) {
                listOf(host.text(R.string.hub_failed, e.message))
            } catch (e: IOException) {
                listOf(host.text(R.string.hub_failed, e.toString()))
            } catch (e: Exception) { // the program refused D0, the client's own files are damaged
                listOf(host.text(R.string.hub_failed, e.toString()))
            }
            host.onUi {
                syncing = false
                sync.isEnabled = true
                result.text = lines.joinToString("\n")
                refreshStatus()
                if (installed) host.reload() // run the version just installed
            }
        }
    }

    private fun refreshStatus() = background {
        val line = where()
        host.onUi { status.text = line }
    }

    /** Runs [task] on the panel's thread, unless the screen is gone. UI thread only. */
    private fun background(task: () -> Unit) {
        if (!worker.isShutdown) worker.execute(task)
    }

    /** The hub configured, the device's id with it and the version installed, or why none. */
    private fun where(): String = try {
        val config = HubConfig.parse(files.config.readText(Charsets.UTF_8), files.config.path)
        val client = HubClient(config.url, files.root, config.publicKey)
        host.text(
            R.string.hub_status,
            client.url,
            client.deviceId ?: host.text(R.string.hub_not_registered),
            client.installed() ?: "none",
        )
    } catch (e: FileNotFoundException) {
        host.text(R.string.hub_no_config, files.config.path)
    } catch (e: HubConfigError) {
        e.message ?: e.toString()
    } catch (e: UpdateRefused) { // the installed version's metadata no longer reads
        host.text(R.string.hub_failed, e.message)
    } catch (e: Exception) { // an unreadable file of the client's (its identity, a pointer)
        host.text(R.string.hub_failed, e.toString())
    }

    private fun describe(done: SyncReport, report: DeviceReport): List<String?> {
        val lines = ArrayList<String?>()
        val registered = if (done.registered) R.string.hub_registered else R.string.hub_device
        lines += host.text(registered, done.deviceId)
        lines += host.text(
            R.string.hub_conditions,
            report.battery?.let { "${Math.round(it * 100)} %" } ?: "?",
            report.charging?.toString() ?: "?",
            report.wifi?.toString() ?: "?",
        )
        lines += when (val post = done.post) {
            is PostOutcome.Posted -> {
                val made = post.update.newVersion
                val sent = host.text(R.string.hub_posted, post.update.updateId, post.examples)
                if (made == null) sent else sent + "\n" + host.text(R.string.hub_published, made)
            }
            is PostOutcome.Held -> host.text(R.string.hub_held, post.reason)
            is PostOutcome.Failed -> host.text(R.string.hub_post_failed, post.message)
        }
        lines += when {
            done.checkInError != null -> host.text(R.string.hub_failed, done.checkInError)
            done.installed != null -> host.text(
                R.string.hub_installed, done.installed, done.installedBefore ?: "none",
            )
            done.waiting != null -> host.text(R.string.hub_waiting, done.waiting)
            else -> host.text(R.string.hub_current, done.installedBefore ?: "none")
        }
        return lines
    }
}
