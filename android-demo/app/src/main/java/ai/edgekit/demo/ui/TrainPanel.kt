package ai.edgekit.demo.ui

import ai.edgekit.demo.R
import ai.edgekit.demo.core.train.CancelSignal
import ai.edgekit.demo.core.train.ClipBook
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.Progress
import ai.edgekit.demo.core.train.SessionOutcome
import ai.edgekit.demo.core.train.TrainingInputError
import ai.edgekit.demo.core.train.TrainingRunner
import ai.edgekit.demo.core.train.WordKind
import ai.edgekit.demo.runtime.ClipRecorder
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.ProgressBar
import android.widget.TextView
import java.util.concurrent.Executors

/**
 * Teaching the model the user's voice and new words: type a word, Record a clip of it (the
 * bundle's clip length from the microphone, embedded once, kept as a pending clip across
 * restarts); the panel counts each word's clips, pending and trained. Personalise trains the
 * pending clips of words the model knows; Enrol puts a new word into a free slot from its clips
 * ([ClipBook] decides which clips and says why not). A session runs off the UI thread with its
 * progress and loss on screen and can be cancelled ([TrainingJob]); once it trained, the model
 * is saved and handed to every panel. A new bundle version that handed the cached clips back
 * starts Personalise on its own. The rules are the core's; this class only shows them.
 */
class TrainPanel(root: View, private val host: PanelHost) : Panel {
    private val word: EditText = root.findViewById(R.id.train_word)
    private val record: Button = root.findViewById(R.id.train_record)
    private val personalise: Button = root.findViewById(R.id.train_personalise)
    private val enrol: Button = root.findViewById(R.id.train_enrol)
    private val cancel: Button = root.findViewById(R.id.train_cancel)
    private val counts: TextView = root.findViewById(R.id.train_counts)
    private val bar: ProgressBar = root.findViewById(R.id.train_progress)
    private val status: TextView = root.findViewById(R.id.train_status)
    private val clips = Executors.newSingleThreadExecutor { task ->
        Thread(task, "edgekit-clips").apply { isDaemon = true }
    }
    private val runner = TrainingRunner()
    private var bundle: LoadedBundle? = null
    private var pending: ClipSet? = null
    private var recording = false
    private var session: CancelSignal? = null

    init {
        bar.setMax(PROGRESS_STEPS)
        record.setOnClickListener { record() }
        personalise.setOnClickListener { train(null) }
        enrol.setOnClickListener { train(word.text.toString()) }
        cancel.setOnClickListener { session?.cancel() }
    }

    override fun show(state: BundleState) {
        session?.cancel() // a session of the model before keeps nothing
        val next = (state as? BundleState.Ready)?.bundle
        val retrained = next != null && next.sameOpening(bundle)
        bundle = next
        pending = next?.pending
        refresh()
        if (next == null) {
            status.text = host.text(R.string.train_no_bundle)
        } else if (!retrained) {
            status.text = host.text(R.string.train_idle)
            if (next.personaliseAgain) train(null) // a new version: the cached clips again
        }
    }

    override fun pause() {
        session?.cancel()
    }

    override fun close() {
        clips.shutdown() // a clip being saved is written first
        runner.close()
    }

    private fun record() {
        val opened = bundle ?: return
        val said = try {
            ClipBook.word(word.text.toString())
        } catch (e: TrainingInputError) {
            status.text = e.message
            return
        }
        host.withMicrophone(
            granted = { if (bundle === opened && !recording) capture(opened, said) },
            denied = { status.text = host.text(R.string.train_denied) },
        )
    }

    /** Records and embeds one clip of [said] off the UI thread, then keeps it pending. */
    private fun capture(opened: LoadedBundle, said: String) {
        recording = true
        refresh()
        status.text = host.text(R.string.train_speak, said)
        val m = opened.manifest
        background {
            val features = try {
                val clip = ClipRecorder(m.sampleRate, m.clipSamples).record()
                Result.success(opened.program.embed(clip, 1)) // once: training keeps these
            } catch (e: Exception) { // no microphone, or the program refused the clip
                Result.failure(e)
            }
            host.onUi {
                recording = false
                val current = pending
                if (bundle === opened && current != null) keep(opened, current, said, features)
                refresh()
            }
        }
    }

    private fun keep(
        opened: LoadedBundle,
        current: ClipSet,
        said: String,
        got: Result<FloatArray>,
    ) {
        val next = try {
            current.plus(said, got.getOrThrow())
        } catch (e: RuntimeException) {
            status.text = host.text(R.string.train_record_failed, e.message ?: e.toString())
            return
        }
        pending = next
        status.text = host.text(R.string.train_recorded, said, next.indicesOf(said).size)
        background {
            try {
                synchronized(BundleOpening.LOCK) { opened.learner.pending.save(next) }
            } catch (e: Exception) { // the storage refused the write
                host.onUi { status.text = host.text(R.string.train_not_saved, e.toString()) }
            }
        }
    }

    /** Runs [task] on the panel's thread, unless the screen is gone. UI thread only. */
    private fun background(task: () -> Unit) {
        if (!clips.isShutdown) clips.execute(task)
    }

    /** Personalise ([enrolWord] null) or enrol [enrolWord] from the pending clips. */
    private fun train(enrolWord: String?) {
        val opened = bundle ?: return
        val clipsNow = pending ?: return
        if (session != null || recording) return
        val book = ClipBook(opened.state, opened.manifest.maxClasses, clipsNow)
        val plan = try {
            if (enrolWord == null) book.personalise() else book.enrol(enrolWord)
        } catch (e: TrainingInputError) {
            status.text = e.message
            return
        }
        bar.setProgress(0)
        status.text = host.text(R.string.train_started, plan.indices.size)
        session = TrainingJob(opened, book, plan).start(
            runner,
            progress = { p -> host.onUi { if (bundle === opened) showProgress(p) } },
            done = { finished -> host.onUi { done(opened, finished) } },
        )
        refresh()
    }

    private fun showProgress(p: Progress) {
        bar.setProgress((p.fraction * PROGRESS_STEPS).toInt())
        status.text = host.text(R.string.train_progress, p.epoch, p.epochs, p.step, p.steps, p.loss)
    }

    private fun done(opened: LoadedBundle, finished: TrainingJob.Finished) {
        session = null
        val trained = finished.trained
        val message = describe(finished)
        if (trained != null && finished.saved && bundle === opened) {
            host.trained(trained.state, finished.left) // every panel, this one too, shows it
        }
        refresh()
        status.text = message
    }

    private fun describe(finished: TrainingJob.Finished): String {
        val error = finished.outcome.exceptionOrNull()
        if (error != null) {
            val why = if (error is TrainingInputError) error.message else error.toString()
            return host.text(R.string.train_refused, why)
        }
        return when (val outcome = finished.outcome.getOrThrow()) {
            is SessionOutcome.Cancelled -> host.text(R.string.train_cancelled)
            is SessionOutcome.Diverged -> host.text(R.string.train_diverged, outcome.reason)
            is SessionOutcome.Trained -> if (!finished.saved) {
                host.text(R.string.train_not_saved, finished.saveError)
            } else {
                val losses = outcome.losses.joinToString(" → ") { "%.3f".format(it) }
                host.text(R.string.train_done, losses, outcome.refusedSteps)
            }
        }
    }

    /** The buttons for what can be done now, and each word's clips. */
    private fun refresh() {
        val opened = bundle
        val idle = opened != null && session == null && !recording
        record.isEnabled = idle
        personalise.isEnabled = idle
        enrol.isEnabled = idle
        cancel.isEnabled = session != null
        val current = pending
        counts.text = if (opened == null || current == null) {
            ""
        } else {
            val book = ClipBook(opened.state, opened.manifest.maxClasses, current)
            book.words().joinToString("\n") { w ->
                when (w.kind) {
                    WordKind.KNOWN -> host.text(R.string.train_count, w.word, w.pending, w.trained)
                    WordKind.NEW -> host.text(
                        R.string.train_count_new, w.word, w.pending, ClipBook.MIN_ENROL_CLIPS,
                    )
                    WordKind.RESTING -> host.text(R.string.train_count_resting, w.word, w.pending)
                }
            }
        }
    }

    private companion object {
        const val PROGRESS_STEPS = 1000 // the bar's resolution
    }
}
