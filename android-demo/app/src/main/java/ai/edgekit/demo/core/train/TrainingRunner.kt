package ai.edgekit.demo.core.train

import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Runs training sessions off the UI thread, one at a time, on a thread of its own: a
 * [JointStep] holds one runtime method, which two sessions must not share. [start] returns at
 * once with the session's [CancelSignal]; the session's progress and its end are told on the
 * training thread (an activity posts them to its UI thread). [close] stops taking sessions.
 */
class TrainingRunner : AutoCloseable {
    private val worker: ExecutorService = Executors.newSingleThreadExecutor { task ->
        Thread(task, "edgekit-training").apply { isDaemon = true }
    }
    private val running = AtomicBoolean(false)

    /** Whether a session is running now. */
    val isRunning: Boolean get() = running.get()

    /**
     * Run [session] (e.g. `{ listener, cancel -> learning.enrol(..., listener = listener,
     * cancel = cancel) }`) on the training thread, telling [progress] after each step and
     * [done] once at the end, with its outcome or what it threw (a [TrainingInputError] says
     * what the user asked wrongly). Refused while another session runs.
     */
    fun start(
        session: (ProgressListener, CancelSignal) -> SessionOutcome,
        progress: ProgressListener,
        done: (Result<SessionOutcome>) -> Unit,
    ): CancelSignal {
        check(running.compareAndSet(false, true)) { "a training session is already running" }
        val cancel = CancelSignal()
        try {
            worker.execute {
                val outcome = try {
                    Result.success(session(progress, cancel))
                } catch (e: Exception) {
                    Result.failure(e)
                }
                running.set(false) // before done: done may start the next session
                done(outcome)
            }
        } catch (e: RuntimeException) { // closed: the session never starts
            running.set(false)
            throw e
        }
        return cancel
    }

    override fun close() {
        worker.shutdown()
    }
}
