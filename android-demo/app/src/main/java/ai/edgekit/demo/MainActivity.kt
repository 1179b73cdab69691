package ai.edgekit.demo

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.bundle.CorruptBundle
import ai.edgekit.demo.runtime.EtProgram
import ai.edgekit.demo.ui.BundlePanel
import ai.edgekit.demo.ui.BundleState
import ai.edgekit.demo.ui.ListenPanel
import ai.edgekit.demo.ui.LoadedBundle
import ai.edgekit.demo.ui.Panel
import ai.edgekit.demo.ui.PanelHost
import android.app.Activity
import android.content.pm.PackageManager
import android.os.Bundle
import android.util.Log
import java.io.File
import android.Manifest.permission.RECORD_AUDIO as RECORD_AUDIO_PERMISSION

/**
 * The app's one screen: a column of panels ([Panel], one per section, each with its own
 * layout included in `activity_main.xml`). The activity opens the bundle pushed to the app's
 * external files folder (`adb push bundle /sdcard/Android/data/ai.edgekit.demo/files/bundle`)
 * off the UI thread, hands its state to every panel, asks for the microphone when a panel
 * needs it and stops the panels when the screen leaves the foreground. Everything but the
 * Android and ExecuTorch calls lives in `ai.edgekit.demo.core`.
 */
class MainActivity : Activity(), PanelHost {
    private lateinit var panels: List<Panel>
    private var loaded: LoadedBundle? = null
    private var microphoneAsked: Pair<() -> Unit, () -> Unit>? = null // granted, denied

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        panels = listOf(
            BundlePanel(findViewById(R.id.bundle_panel), this),
            ListenPanel(findViewById(R.id.listen_panel), this),
        )
        reload()
    }

    override fun onStop() {
        super.onStop()
        panels.forEach { it.pause() } // no listening in the background
    }

    override fun onDestroy() {
        panels.forEach { it.pause() }
        loaded?.close()
        loaded = null
        super.onDestroy()
    }

    override fun reload() {
        publish(BundleState.Loading) // every panel lets go of the old bundle first
        val old = loaded
        loaded = null
        val folder = File(getExternalFilesDir(null), BUNDLE_FOLDER)
        Thread {
            old?.close()
            val state = open(folder)
            runOnUiThread {
                val bundle = (state as? BundleState.Ready)?.bundle
                if (isDestroyed) {
                    bundle?.close()
                } else {
                    loaded = bundle
                    publish(state)
                }
            }
        }.start()
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

    private fun publish(state: BundleState) = panels.forEach { it.show(state) }

    /** The bundle in [folder], checked as the Python device checks it, its program loaded. */
    private fun open(folder: File): BundleState = try {
        val bundle = BundleFolder.open(folder)
        val m = bundle.manifest
        val arrays = bundle.weights()
        val weights = m.trainable.map { arrays.getValue(it.name) } // classify's order
        val mask = FloatArray(m.maxClasses) { if (it < m.labels.size) 1f else 0f } // all live
        val program = EtProgram(m, bundle.program)
        val methods = try {
            program.methods
        } catch (e: RuntimeException) {
            program.close()
            throw e
        }
        BundleState.Ready(LoadedBundle(folder, m, program, methods, m.labels, mask, weights))
    } catch (e: CorruptBundle) {
        Log.w(TAG, "bundle refused: ${e.message}")
        BundleState.Refused(getString(R.string.no_bundle, folder.path, e.message))
    } catch (e: RuntimeException) { // the runtime refused the program
        Log.e(TAG, "program not loaded", e)
        BundleState.Refused(getString(R.string.no_program, e.message))
    }

    private companion object {
        const val TAG = "edgekit"
        const val BUNDLE_FOLDER = "bundle"
        const val ASK_MICROPHONE = 1 // request code of the RECORD_AUDIO permission
    }
}
