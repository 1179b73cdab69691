package ai.edgekit.demo.ui

import ai.edgekit.demo.core.listen.Heard
import ai.edgekit.demo.core.listen.LiveDetector
import ai.edgekit.demo.runtime.Microphone

/**
 * One listening session: the microphone writes into a [LiveDetector]'s ring on its own thread,
 * and a detector thread runs each window as it completes. [onHeard] gets every step that ran a
 * window; [onError] gets why listening stopped on its own (a failed read, the program refusing
 * a window). Both are called on those threads. [close] stops both threads and frees the
 * microphone; the program stays open (it belongs to the [LoadedBundle]). The constructor throws
 * IllegalStateException when the microphone cannot record and IllegalArgumentException when
 * the model has no keyword to listen for.
 */
class Listening(
    bundle: LoadedBundle,
    private val onHeard: (Heard) -> Unit,
    private val onError: (String) -> Unit,
) : AutoCloseable {
    val detector = LiveDetector(bundle.program, bundle.weights, bundle.labels, bundle.mask)
    private val microphone =
        Microphone(detector.rate, { pcm, n -> detector.write(pcm, 0, n) }, onError)

    @Volatile private var running = true
    private val worker = Thread({ detect() }, "detector")

    init {
        microphone.start() // IllegalStateException, saying why, when it cannot record
        worker.start()
    }

    override fun close() {
        running = false
        microphone.stop()
        worker.interrupt() // ends its wait for the next window at once
        worker.join()
    }

    private fun detect() {
        try {
            while (running) {
                val heard = detector.step(WAIT_MILLIS)
                if (heard.windows > 0) onHeard(heard)
            }
        } catch (_: InterruptedException) {
            // closed while waiting for a window
        } catch (e: RuntimeException) { // ExecuTorch refused a window, or gave non-finite values
            if (running) onError(e.message ?: e.toString())
        }
    }

    private companion object {
        const val WAIT_MILLIS = 1_000L // longest wait for a window before checking `running`
    }
}
