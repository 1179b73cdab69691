package ai.edgekit.demo.ui

import ai.edgekit.demo.R
import ai.edgekit.demo.core.detect.Event
import ai.edgekit.demo.core.listen.Heard
import android.view.View
import android.widget.Button
import android.widget.TextView

/**
 * Live keyword spotting: a button starts and stops listening (asking for the microphone the
 * first time); a line says what is heard now (the stream time, the keyword on top with its
 * posterior, windows dropped) and the detections follow, newest first, with their score. When
 * a training session brings a new model, listening starts again with it. Everything here runs
 * on the UI thread; the session's threads post to it.
 */
class ListenPanel(root: View, private val host: PanelHost) : Panel {
    private val toggle: Button = root.findViewById(R.id.listen_toggle)
    private val state: TextView = root.findViewById(R.id.listen_state)
    private val detections: TextView = root.findViewById(R.id.listen_detections)
    private val shown = ArrayDeque<String>() // the newest detections, newest first
    private var bundle: LoadedBundle? = null
    private var session: Listening? = null

    init {
        toggle.setOnClickListener { if (session == null) start() else stop(R.string.listen_idle) }
    }

    override fun show(state: BundleState) {
        val next = (state as? BundleState.Ready)?.bundle
        val resume = session != null && next != null && next.sameOpening(bundle) // retrained
        stop(R.string.listen_idle)
        bundle = next
        toggle.isEnabled = bundle != null
        val why = if (bundle == null) R.string.listen_no_bundle else R.string.listen_idle
        this.state.text = host.text(why)
        if (resume) start() // with the new model's weights, labels and live slots
    }

    override fun pause() = stop(R.string.listen_idle)

    private fun start() {
        val wanted = bundle ?: return
        host.withMicrophone(
            granted = { if (bundle === wanted && session == null) begin(wanted) },
            denied = { state.text = host.text(R.string.listen_denied) },
        )
    }

    private fun begin(bundle: LoadedBundle) {
        var mine: Listening? = null // tells this session's late calls from a newer one's

        /** Runs [action] on the UI thread if this session is still the one listening. */
        fun ifCurrent(action: (Listening) -> Unit) =
            host.onUi { mine?.takeIf { it === session }?.let(action) }

        val started = try {
            Listening(
                bundle,
                onHeard = { heard -> ifCurrent { showHeard(it, heard) } },
                onError = { why -> ifCurrent { stop(R.string.listen_failed, why) } },
            )
        } catch (e: RuntimeException) { // no microphone, or no keyword to listen for
            state.text = host.text(R.string.listen_failed, e.message)
            return
        }
        mine = started
        session = started
        shown.clear()
        detections.text = host.text(R.string.listen_none)
        state.text = host.text(R.string.listen_started)
        toggle.setText(R.string.listen_stop)
    }

    /** Stops listening, if it runs, and says [why] (a string resource, formatted with [args]). */
    private fun stop(why: Int, vararg args: Any?) {
        val running = session ?: return
        session = null
        running.close()
        toggle.setText(R.string.listen_start)
        state.text = host.text(why, *args)
    }

    private fun showHeard(running: Listening, heard: Heard) {
        val keywords = running.detector.keywords.names
        val latest = heard.latest ?: return
        val top = latest.indices.maxBy { latest[it] }
        val dropped = running.detector.ring.dropped
        state.text = host.text(
            R.string.listen_progress, heard.seconds, keywords[top], latest[top], dropped,
        )
        if (heard.events.isEmpty()) return
        for (event in heard.events) shown.addFirst(line(event))
        while (shown.size > MAX_SHOWN) shown.removeLast()
        detections.text = shown.joinToString("\n")
    }

    private fun line(event: Event): String =
        host.text(R.string.listen_detection, event.label, event.score, event.peakSeconds)

    private companion object {
        const val MAX_SHOWN = 20 // detections kept on the screen
    }
}
