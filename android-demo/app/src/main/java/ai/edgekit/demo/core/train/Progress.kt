package ai.edgekit.demo.core.train

/**
 * Where a training session stands after one step, for the screen: [epoch] of [epochs] and
 * [step] of [steps] (both from 1), the step's [loss] (mean cross-entropy over its batch) and
 * whether it was [applied] (a step with a NaN or Inf loss or gradient is not). [epochLoss] is
 * the mean loss of the epoch's applied steps, given on its last step (NaN if none applied).
 */
class Progress(
    val epoch: Int,
    val epochs: Int,
    val step: Int,
    val steps: Int,
    val loss: Float,
    val applied: Boolean,
    val epochLoss: Double?,
) {
    /** Share of the session's steps done, in (0, 1]. */
    val fraction: Double get() = ((epoch - 1) * steps + step).toDouble() / (epochs * steps)

    override fun toString() = "epoch $epoch/$epochs step $step/$steps loss $loss"
}

/** Told after every step of a session, on the thread that trains (not the UI's). */
fun interface ProgressListener {
    fun onProgress(progress: Progress)
}

/**
 * Asks a running session to stop: any thread may [cancel]; the session checks it before each
 * step (a step already in the runtime finishes first) and returns
 * [SessionOutcome.Cancelled], keeping nothing of what it trained.
 */
class CancelSignal {
    @Volatile
    var isCancelled: Boolean = false
        private set

    fun cancel() {
        isCancelled = true
    }
}
