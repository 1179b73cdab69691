package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray

/** One batch of exactly `trainBatch` rows: flat features and the target slot of each row. */
class TrainBatch(val features: FloatArray, val labels: LongArray)

/** How a run of [SgdSession.run] ended. */
sealed class SgdResult {
    /** Every epoch ran: the mean loss of each (over its applied steps; NaN if none applied),
     * the weights after, and the steps not applied (NaN or Inf loss or gradients). */
    class Done(
        val losses: List<Double>,
        val weights: Map<String, NdArray.Float32>,
        val refusedSteps: Int,
    ) : SgdResult()

    /** Stopped by its [CancelSignal] after [stepsRun] steps: none of it is to be kept. */
    class Cancelled(val stepsRun: Int) : SgdResult()

    /** The weights came out NaN or Inf (not reachable through finite steps, but never kept). */
    class Diverged(val reason: String, val refusedSteps: Int) : SgdResult()
}

/**
 * Epochs of SGD through a [JointStep] (`edgekit.device.training.sgd_epochs`): load the weights,
 * make the session's ONE optimizer, then for every batch a forward-backward, the refusal of a
 * step whose loss or gradients are not finite and the gradient clip ([Gradients]), and the
 * optimizer's step. The runtime's weights are read out once at the end, and refused when not
 * finite.
 *
 * Cancellation keeps nothing: the caller's weights are untouched (the runtime's own copy holds
 * the partial session, and the next session loads over it). A partly trained head is not
 * offered, because an epoch cut short has seen only some of the user's clips.
 */
object SgdSession {
    fun run(
        step: JointStep,
        weights: Map<String, NdArray.Float32>,
        config: TrainConfig,
        epochs: Int,
        stepsPerEpoch: Int,
        batches: () -> Sequence<TrainBatch>,
        mask: FloatArray,
        listener: ProgressListener? = null,
        cancel: CancelSignal = CancelSignal(),
    ): SgdResult {
        if (epochs < 1) throw TrainingInputError("epochs must be >= 1, got $epochs")
        if (cancel.isCancelled) return SgdResult.Cancelled(0)
        step.load(weights)
        step.startSession(config.learningRate, config.momentum)
        val history = ArrayList<Double>(epochs)
        var refused = 0
        var run = 0
        for (epoch in 1..epochs) {
            var sum = 0.0
            var applied = 0
            var index = 0
            for (batch in batches()) {
                if (cancel.isCancelled) return SgdResult.Cancelled(run)
                index++
                run++
                val out = step.gradients(batch.features, batch.labels, mask)
                val ok = Gradients.finite(out)
                if (ok) {
                    step.step(Gradients.clip(out.gradients, config.clipNorm))
                    sum += out.loss
                    applied++
                } else {
                    refused++ // a NaN/Inf loss or gradient is never applied: weights stay
                }
                val mean = if (applied > 0) sum / applied else Double.NaN
                val last = index == stepsPerEpoch
                val epochLoss = mean.takeIf { last }
                listener?.onProgress(
                    Progress(epoch, epochs, index, stepsPerEpoch, out.loss, ok, epochLoss),
                )
            }
            history += if (applied > 0) sum / applied else Double.NaN
        }
        val after = step.read()
        val bad = after.filterValues { w -> !w.data.all { it.isFinite() } }.keys
        if (bad.isNotEmpty()) {
            val reason = "training produced NaN or Inf weights ($bad): they were not kept"
            return SgdResult.Diverged(reason, refused)
        }
        return SgdResult.Done(history, after, refused)
    }
}
