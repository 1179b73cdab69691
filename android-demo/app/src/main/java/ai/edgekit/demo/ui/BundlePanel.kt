package ai.edgekit.demo.ui

import ai.edgekit.demo.R
import android.view.View
import android.widget.Button
import android.widget.TextView

/** The bundle's status: its labels, detection settings and program methods, or why it was
 * refused; and the button that opens it again (after `adb push` of a new one). */
class BundlePanel(root: View, private val host: PanelHost) : Panel {
    private val status: TextView = root.findViewById(R.id.status)
    private val reload: Button = root.findViewById(R.id.reload)

    init {
        reload.setOnClickListener { host.reload() }
    }

    override fun show(state: BundleState) {
        reload.isEnabled = state !is BundleState.Loading
        status.text = when (state) {
            is BundleState.Loading -> host.text(R.string.loading)
            is BundleState.Refused -> state.reason
            is BundleState.Ready -> describe(state.bundle)
        }
    }

    override fun pause() = Unit

    private fun describe(bundle: LoadedBundle): String {
        val m = bundle.manifest
        val d = m.detection
        val clip = "${m.clipSamples} samples at ${m.sampleRate} Hz"
        val slots = "${m.labels.size} of ${m.maxClasses} slots"
        return "${m.arch}: ${m.labels.joinToString()} ($slots)\n" +
            "listens to $clip every ${d.hopSeconds} s, smoothed over ${d.smoothSeconds} s, " +
            "threshold ${d.threshold}, refractory ${d.refractorySeconds} s\n" +
            "methods: ${bundle.methods.sorted().joinToString()}"
    }
}
