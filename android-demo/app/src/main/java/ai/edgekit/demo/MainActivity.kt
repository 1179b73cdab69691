package ai.edgekit.demo

import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.bundle.CorruptBundle
import ai.edgekit.demo.runtime.EtProgram
import android.app.Activity
import android.os.Bundle
import android.util.Log
import android.widget.Button
import android.widget.TextView
import java.io.File

/**
 * The app's one screen. It opens the bundle pushed to the app's external files folder
 * (`adb push bundle /sdcard/Android/data/ai.edgekit.demo/files/bundle`), checks it as the
 * Python device does and loads its program; listening, personalising and the hub come next.
 * Everything but the Android and ExecuTorch calls lives in `ai.edgekit.demo.core`.
 */
class MainActivity : Activity() {
    private lateinit var status: TextView
    private lateinit var reload: Button

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        status = findViewById(R.id.status)
        reload = findViewById(R.id.reload)
        reload.setOnClickListener { load() }
        load()
    }

    private fun load() {
        reload.isEnabled = false
        status.text = getString(R.string.loading)
        val folder = File(getExternalFilesDir(null), BUNDLE_FOLDER)
        Thread {
            val text = describe(folder)
            runOnUiThread {
                status.text = text
                reload.isEnabled = true
            }
        }.start()
    }

    /** What the screen says about the bundle in [folder]: its contents, or why it is refused. */
    private fun describe(folder: File): String = try {
        val bundle = BundleFolder.open(folder)
        val m = bundle.manifest
        val methods = EtProgram(m, bundle.program).use { it.methods.sorted() }
        val clip = "${m.clipSamples} samples at ${m.sampleRate} Hz"
        "${m.arch}: ${m.labels.joinToString()} (${m.labels.size} of ${m.maxClasses} slots)\n" +
            "listens to $clip every ${m.detection.hopSeconds} s\n" +
            "methods: ${methods.joinToString()}"
    } catch (e: CorruptBundle) {
        Log.w(TAG, "bundle refused: ${e.message}")
        getString(R.string.no_bundle, folder.path, e.message)
    } catch (e: RuntimeException) { // the runtime refused the program
        Log.e(TAG, "program not loaded", e)
        getString(R.string.no_program, e.message)
    }

    private companion object {
        const val TAG = "edgekit"
        const val BUNDLE_FOLDER = "bundle"
    }
}
