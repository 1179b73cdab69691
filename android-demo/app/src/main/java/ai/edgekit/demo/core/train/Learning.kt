package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray

/** How a personalise or enrol session ended. */
sealed class SessionOutcome {
    /** Every epoch ran: the new [state] (to show and save), the mean loss of each epoch and
     * the steps not applied for a NaN or Inf loss or gradient. */
    class Trained(val state: LearnerState, val losses: List<Double>, val refusedSteps: Int) :
        SessionOutcome()

    /** Cancelled after [stepsRun] steps: nothing of it is kept; the state given stays. */
    class Cancelled(val stepsRun: Int) : SessionOutcome()

    /** The weights came out NaN or Inf: nothing is kept; the state given stays. */
    class Diverged(val reason: String, val refusedSteps: Int) : SessionOutcome()
}

/**
 * Personalisation and enrolment on the phone (`edgekit.device.learning.Training`): SGD epochs
 * of the program's `train_step` through a [JointStep], every batch mixing the user's clips with
 * the pool ([Pool]: D0 of [d0Features] / [d0Labels] and the replay set, live slots only). A
 * session never changes the state it is given; a [SessionOutcome.Trained] carries the next one,
 * whose feature cache (replay set) holds the session's clips. Run it off the UI thread
 * ([TrainingRunner]); it blocks for the whole session.
 */
class Learning(
    val manifest: Manifest,
    private val d0Features: NdArray.Float32,
    private val d0Labels: NdArray.Int64,
    val config: TrainConfig = TrainConfig(),
) {
    init {
        val n = d0Labels.size
        require(d0Features.shape.contentEquals(intArrayOf(n, manifest.featureSize))) {
            "D0 features ${d0Features.shape.toList()} are not ($n, ${manifest.featureSize})"
        }
    }

    /**
     * Adapt to the user's clips of words the phone already knows: [features] `(n, featureSize)`
     * (the clips embedded once), [labels] the word of each, all live.
     */
    fun personalize(
        state: LearnerState,
        step: JointStep,
        features: NdArray.Float32,
        labels: List<String>,
        epochs: Int = 5,
        mixRatio: Double? = null,
        listener: ProgressListener? = null,
        cancel: CancelSignal = CancelSignal(),
    ): SessionOutcome {
        checkEpochs(epochs)
        val rows = checkFeatures(features)
        if (labels.size != rows) throw TrainingInputError("${labels.size} labels for $rows clips")
        val slots = state.slots(manifest.maxClasses)
        val targets = slots.slotsOf(labels)
        val mix = mixRatio ?: config.mixRatio
        val session = Session(epochs, mix, listener, cancel)
        return train(state, slots, state.weights, step, features, targets, session)
    }

    /**
     * Add the word [name] into the next free slot from its clips' [features]; the old words
     * keep working. Its column starts at the clips' imprint (when [TrainConfig.imprint]); by
     * default the pool takes `max(mixRatio, 1 - 1/live words)` of each batch, so that a few
     * clips do not flood the head.
     */
    fun enrol(
        state: LearnerState,
        step: JointStep,
        name: String,
        features: NdArray.Float32,
        epochs: Int = 20,
        mixRatio: Double? = null,
        listener: ProgressListener? = null,
        cancel: CancelSignal = CancelSignal(),
    ): SessionOutcome {
        checkEpochs(epochs)
        val rows = checkFeatures(features)
        if (mixRatio != null) Mixing.splitBatch(manifest.trainBatch, mixRatio, true)
        val slots = state.slots(manifest.maxClasses)
        val slot = slots.enrol(name)
        val mask = slots.mask()
        val others = slots.liveSlots().filter { it != slot }.toIntArray()
        val start = if (config.imprint && !cancel.isCancelled) {
            val batch = manifest.trainBatch
            val trainable = manifest.trainable
            Imprint.imprint(step, state.weights, trainable, features, slot, others, batch, mask)
        } else {
            state.weights
        }
        val targets = LongArray(rows) { slot.toLong() }
        val mix = mixRatio ?: maxOf(config.mixRatio, 1.0 - 1.0 / slots.live.size)
        val session = Session(epochs, mix, listener, cancel)
        return train(state, slots, start, step, features, targets, session)
    }

    private fun train(
        state: LearnerState,
        slots: ClassSlots,
        weights: Map<String, NdArray.Float32>,
        step: JointStep,
        features: NdArray.Float32,
        targets: LongArray,
        session: Session,
    ): SessionOutcome {
        val mix = session.mix
        val batch = manifest.trainBatch
        Mixing.splitBatch(batch, mix, true)
        val live = slots.liveSlots()
        val pool = Pool.of(d0Features, d0Labels, state, live)
        val weightsOfPool = if (config.balancedMix) {
            pool.weights(targets, batch, mix, config.addedClassMass)
        } else {
            null
        }
        val rng = Pcg64(state.rng)
        val steps = Mixing.steps(targets.size, pool.size, batch, mix)
        val result = SgdSession.run(
            step = step,
            weights = weights,
            config = config,
            epochs = session.epochs,
            stepsPerEpoch = steps,
            batches = { pool.batches(features, targets, batch, mix, rng, weightsOfPool) },
            mask = slots.mask(),
            listener = session.listener,
            cancel = session.cancel,
        )
        return when (result) {
            is SgdResult.Cancelled -> SessionOutcome.Cancelled(result.stepsRun)
            is SgdResult.Diverged -> SessionOutcome.Diverged(result.reason, result.refusedSteps)
            is SgdResult.Done -> {
                val (x, y) = remember(state, features, targets)
                val next = state.copy(
                    weights = result.weights,
                    labels = slots.labels,
                    live = slots.live,
                    replayFeatures = x,
                    replayLabels = y,
                    rng = rng.state,
                )
                SessionOutcome.Trained(next, result.losses, result.refusedSteps)
            }
        }
    }

    /** The replay set with [features] / [targets] added, keeping the newest replayClips. */
    private fun remember(
        state: LearnerState,
        features: NdArray.Float32,
        targets: LongArray,
    ): Pair<NdArray.Float32, NdArray.Int64> {
        val width = manifest.featureSize
        val keep = config.replayClips
        if (keep == 0) return state.replayFeatures to state.replayLabels
        val x = state.replayFeatures.data + features.data
        val y = state.replayLabels.data + targets
        val drop = maxOf(0, y.size - keep)
        val rows = x.copyOfRange(drop * width, x.size)
        return LearnerState.rows(rows, width) to NdArray.Int64(
            intArrayOf(y.size - drop),
            y.copyOfRange(drop, y.size),
        )
    }

    /** What the caller asked of a session: its epochs, the pool's share of each batch, who
     * hears its progress and what cancels it. */
    private class Session(
        val epochs: Int,
        val mix: Double,
        val listener: ProgressListener?,
        val cancel: CancelSignal,
    )

    private fun checkEpochs(epochs: Int) {
        if (epochs < 1) throw TrainingInputError("epochs must be >= 1, got $epochs")
    }

    /** The rows of [features], which must be finite `(n >= 1, featureSize)`. */
    private fun checkFeatures(features: NdArray.Float32): Int {
        val width = manifest.featureSize
        if (features.shape.size != 2 || features.shape[1] != width || features.shape[0] < 1) {
            val shape = features.shape.toList()
            throw TrainingInputError("features must be (n >= 1, $width), got $shape")
        }
        if (!features.data.all { it.isFinite() }) {
            throw TrainingInputError("the clips' features hold NaN or Inf")
        }
        return features.shape[0]
    }
}
