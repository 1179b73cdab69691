package ai.edgekit.demo.ui

import ai.edgekit.demo.core.train.CancelSignal
import ai.edgekit.demo.core.train.ClipBook
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.Learning
import ai.edgekit.demo.core.train.Progress
import ai.edgekit.demo.core.train.SessionOutcome
import ai.edgekit.demo.core.train.TrainPlan
import ai.edgekit.demo.core.train.TrainingRunner
import ai.edgekit.demo.runtime.EtTrainer
import java.io.File
import java.io.IOException

/**
 * One personalise or enrol session of [plan] on [bundle]'s model, run by [runner] off the UI
 * thread through the program's `train_step` ([EtTrainer]: ExecuTorch's TrainingModule and ONE
 * SGD for the session, D0 and the feature cache mixed into every batch by [Learning]). When it
 * trained, the new state and the clips left pending are saved (written then renamed) before
 * [done] hears of it; a session cancelled meanwhile (the bundle reopened, the screen left) saves
 * nothing, whatever it reached. [progress] and [done] are called on the training thread.
 */
class TrainingJob(
    private val bundle: LoadedBundle,
    private val book: ClipBook,
    private val plan: TrainPlan,
) {
    /** How the job ended: the session's [outcome] (or what it threw); when it trained, the
     * clips [left] pending and whether both files were [saved] (else [saveError] says why). */
    class Finished(
        val outcome: Result<SessionOutcome>,
        val left: ClipSet,
        val saved: Boolean,
        val saveError: String?,
    ) {
        val trained: SessionOutcome.Trained? get() = outcome.getOrNull() as? SessionOutcome.Trained
    }

    /** Starts the session; its [CancelSignal]. IllegalStateException when one already runs. */
    fun start(
        runner: TrainingRunner,
        progress: (Progress) -> Unit,
        done: (Finished) -> Unit,
    ): CancelSignal {
        var asked: CancelSignal? = null // the session's, set on the training thread before done
        val learning = Learning(bundle.manifest, bundle.d0Features, bundle.d0Labels)
        return runner.start(
            session = { listener, cancel ->
                asked = cancel
                // loaded on the training thread: the module holds the runtime's train_step
                val step = EtTrainer(bundle.manifest, File(bundle.folder, PROGRAM))
                when (plan) {
                    is TrainPlan.Personalise -> learning.personalize(
                        bundle.state, step, plan.features, plan.labels,
                        listener = listener, cancel = cancel,
                    )
                    is TrainPlan.Enrol -> learning.enrol(
                        bundle.state, step, plan.word, plan.features,
                        listener = listener, cancel = cancel,
                    )
                }
            },
            progress = { progress(it) },
            done = { outcome -> done(finish(outcome, asked)) },
        )
    }

    private fun finish(outcome: Result<SessionOutcome>, cancel: CancelSignal?): Finished {
        val left = book.afterTraining(plan)
        val trained = outcome.getOrNull() as? SessionOutcome.Trained
            ?: return Finished(outcome, book.pending, false, null)
        return synchronized(BundleOpening.LOCK) {
            if (cancel?.isCancelled != false) {
                Finished(Result.success(SessionOutcome.Cancelled(0)), book.pending, false, null)
            } else {
                try {
                    bundle.learner.store.save(trained.state) // the model first: clips stay safe
                    bundle.learner.pending.save(left)
                    Finished(outcome, left, true, null)
                } catch (e: IOException) {
                    Finished(outcome, book.pending, false, e.message ?: e.toString())
                } catch (e: RuntimeException) { // NaN or Inf refused: the file keeps what it held
                    Finished(outcome, book.pending, false, e.message ?: e.toString())
                }
            }
        }
    }

    private companion object {
        const val PROGRAM = "model.pte"
    }
}
