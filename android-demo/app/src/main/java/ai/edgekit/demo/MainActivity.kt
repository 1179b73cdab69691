package ai.edgekit.demo

import ai.edgekit.demo.core.hub.HubConfig
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.LearnerState
import ai.edgekit.demo.runtime.DeviceConditions
import ai.edgekit.demo.ui.BundleOpening
import ai.edgekit.demo.ui.BundlePanel
import ai.edgekit.demo.ui.BundleState
import ai.edgekit.demo.ui.HubFiles
import ai.edgekit.demo.ui.HubPanel
import ai.edgekit.demo.ui.ListenPanel
import ai.edgekit.demo.ui.LoadedBundle
import ai.edgekit.demo.ui.Panel
import ai.edgekit.demo.ui.PanelHost
import ai.edgekit.demo.ui.TrainPanel
import android.app.Activity
import android.app.AlertDialog
import android.content.pm.PackageManager
import android.os.Bundle
import java.io.File
import android.Manifest.permission.RECORD_AUDIO as RECORD_AUDIO_PERMISSION

/**
 * The app's one screen: a column of panels ([Panel], one per section, each with its own
 * layout included in `activity_main.xml`). The activity opens the bundle ([BundleOpening]: the
 * hub's installed version, else the one pushed to the app's external files folder with
 * `adb push bundle /sdcard/Android/data/ai.edgekit.demo/files/bundle`) and the learner state
 * saved for it off the UI thread, asks the user what to do with an unusable state, hands the
 * bundle and its model to every panel (again after each training session), asks for the
 * microphone when a panel needs it and stops the panels when the screen leaves the foreground.
 * Everything but the Android and ExecuTorch calls lives in `ai.edgekit.demo.core`.
 */
class MainActivity : Activity(), PanelHost {
    private lateinit var panels: List<Panel>
    private lateinit var opening: BundleOpening
    private var loaded: LoadedBundle? = null
    private var asking: BundleOpening.Question? = null // an unusable state awaits the user
    private var microphoneAsked: Pair<() -> Unit, () -> Unit>? = null // granted, denied

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        val external = getExternalFilesDir(null)
        opening = BundleOpening(filesDir, File(external, BUNDLE_FOLDER)) { id, args ->
            getString(id, *args)
        }
        val hub = HubFiles(
            config = File(external, HubConfig.FILE),
            root = File(filesDir, BundleOpening.HUB_FOLDER),
            ledger = File(filesDir, POSTED_FILE),
            conditions = DeviceConditions(this)::report,
        )
        panels = listOf(
            BundlePanel(findViewById(R.id.bundle_panel), this),
            ListenPanel(findViewById(R.id.listen_panel), this),
            TrainPanel(findViewById(R.id.train_panel), this),
            HubPanel(findViewById(R.id.hub_panel), this, hub),
        )
        reload()
    }

    override fun onStop() {
        super.onStop()
        panels.forEach { it.pause() } // no listening or training in the background
    }

    override fun onDestroy() {
        panels.forEach { it.pause() }
        panels.forEach { it.close() }
        asking?.notNow()
        asking = null
        loaded?.close()
        loaded = null
        super.onDestroy()
    }

    override fun reload() {
        publish(BundleState.Loading) // every panel lets go of the old bundle first
        val old = loaded
        loaded = null
        Thread {
            old?.close()
            val outcome = opening.open()
            runOnUiThread { settle(outcome) }
        }.start()
    }

    override fun trained(state: LearnerState, pending: ClipSet) {
        val current = loaded ?: return
        val next = current.trained(state, pending)
        loaded = next
        publish(BundleState.Ready(next)) // the same program: nothing to close
    }

    override fun onUi(action: () -> Unit) = runOnUiThread(action)

    override fun text(id: Int, vararg args: Any?): String = getString(id, *args)

    override fun withMicrophone(granted: () -> Unit, denied: () -> Unit) {
        if (checkSelfPermission(RECORD_AUDIO_PERMISSION) == PackageManager.PERMISSION_GRANTED) {
            granted()
        } else {
            microphoneAsked = granted to denied
            requestPermissions(arrayOf(RECORD_AUDIO_PERMISSION), ASK_MICROPHONE)
        }
    }

    override fun onRequestPermissionsResult(
        requestCode: Int,
        permissions: Array<out String>,
        grantResults: IntArray,
    ) {
        super.onRequestPermissionsResult(requestCode, permissions, grantResults)
        val (granted, denied) = microphoneAsked?.takeIf { requestCode == ASK_MICROPHONE } ?: return
        microphoneAsked = null
        val ok = grantResults.firstOrNull() == PackageManager.PERMISSION_GRANTED // empty: dismissed
        if (ok) granted() else denied()
    }

    /** The end of an opening, on the UI thread. */
    private fun settle(outcome: BundleOpening.Outcome) {
        if (isDestroyed) {
            when (outcome) {
                is BundleOpening.Outcome.Opened -> outcome.bundle.close()
                is BundleOpening.Outcome.Ask -> outcome.question.notNow()
                is BundleOpening.Outcome.Refused -> Unit
            }
            return
        }
        when (outcome) {
            is BundleOpening.Outcome.Opened -> {
                loaded = outcome.bundle
                publish(BundleState.Ready(outcome.bundle))
            }
            is BundleOpening.Outcome.Refused -> publish(BundleState.Refused(outcome.reason))
            is BundleOpening.Outcome.Ask -> ask(outcome.question)
        }
    }

    /** Asks the user what to do with an unusable saved state, as the Python device does: start
     * again from the bundle's weights (the file is kept beside), or not now (nothing is
     * overwritten, and the app runs no model until the next Reload asks again). */
    private fun ask(question: BundleOpening.Question) {
        asking = question
        AlertDialog.Builder(this)
            .setTitle(R.string.state_damaged_title)
            .setMessage(getString(R.string.state_damaged, question.file.name, question.reason))
            .setPositiveButton(R.string.state_start_again) { _, _ ->
                asking = null
                Thread {
                    val outcome = question.startAgain()
                    runOnUiThread { settle(outcome) }
                }.start()
            }
            .setNegativeButton(R.string.state_not_now) { _, _ ->
                asking = null
                settle(question.notNow())
            }
            .setCancelable(false) // an answer is needed: the state is never replaced unasked
            .show()
    }

    private fun publish(state: BundleState) = panels.forEach { it.show(state) }

    private companion object {
        const val BUNDLE_FOLDER = "bundle"
        const val POSTED_FILE = "hub_posted.json" // the last training update the hub accepted
        const val ASK_MICROPHONE = 1 // request code of the RECORD_AUDIO permission
    }
}
