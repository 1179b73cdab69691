package ai.edgekit.demo.ui

import ai.edgekit.demo.R
import android.view.View
import android.widget.Button
import android.widget.TextView

/** The bundle's status: where it came from (a hub version or pushed by hand), its labels,
 * detection settings and program methods, the model running now (its live words, its cached
 * clips) and what opening it did (a new version's policy, a damaged file set aside), or why it
 * was refused; and the button that opens it again (after `adb push` of a new one). */
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
        val source = bundle.version?.let { host.text(R.string.bundle_from_hub, it) }
            ?: host.text(R.string.bundle_pushed, bundle.folder.path)
        val words = bundle.labels.filter { it in bundle.state.live }
        val notes = bundle.notes.joinToString("") { "\n• $it" }
        return "$source\n${m.arch}: ${m.labels.joinToString()} ($slots)\n" +
            "listens to $clip every ${d.hopSeconds} s, smoothed over ${d.smoothSeconds} s, " +
            "threshold ${d.threshold}, refractory ${d.refractorySeconds} s\n" +
            "methods: ${bundle.methods.sorted().joinToString()}\n" +
            host.text(R.string.bundle_model, words.joinToString(), bundle.state.replayLabels.size) +
            notes
    }
}
