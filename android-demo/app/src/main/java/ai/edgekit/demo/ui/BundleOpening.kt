package ai.edgekit.demo.ui

import ai.edgekit.demo.R
import ai.edgekit.demo.core.bundle.BundleFolder
import ai.edgekit.demo.core.bundle.CorruptBundle
import ai.edgekit.demo.core.hub.BundleSource
import ai.edgekit.demo.core.state.Opening
import ai.edgekit.demo.core.state.StateOpener
import ai.edgekit.demo.runtime.EtProgram
import android.util.Log
import java.io.File
import java.io.IOException

/**
 * Opens the bundle the app runs, off the UI thread: the hub's installed version, else the
 * folder pushed by hand ([BundleSource]); a hub version that does not open gives way to the
 * last good one (then to the pushed folder), saying so. Then its program, then the learner's
 * files ([StateOpener]: the state saved for it, a new version's policy, the pending clips).
 *
 * [filesDir] is the app's private storage (`hub/`, `learner/`), [pushed] the folder of the
 * bundle pushed by hand; [text] formats a string resource.
 */
class BundleOpening(
    private val filesDir: File,
    private val pushed: File,
    private val text: (Int, Array<out Any?>) -> String,
) {
    /** How opening ended. */
    sealed class Outcome {
        class Opened(val bundle: LoadedBundle) : Outcome()

        class Refused(val reason: String) : Outcome()

        /** The saved state is unusable: the user decides ([Question.startAgain] or
         * [Question.notNow]); the program stays loaded meanwhile. */
        class Ask(val question: Question) : Outcome()
    }

    /** The user's decision about an unusable state [file], unusable for [reason]. */
    inner class Question internal constructor(
        val file: File,
        val reason: String,
        private val parts: Parts,
        private val opener: StateOpener,
    ) {
        /** Set the file aside, keep it, and run the bundle's own weights (off the UI thread). */
        fun startAgain(): Outcome = synchronized(LOCK) {
            try {
                Outcome.Opened(parts.loaded(opener, opener.startAgain()))
            } catch (e: IOException) {
                parts.program.close()
                Outcome.Refused(text(R.string.no_state, arrayOf<Any?>(e.message)))
            } catch (e: CorruptBundle) {
                parts.program.close()
                Outcome.Refused(refusal(parts.folder, e))
            }
        }

        /** Leave the file as it is and the app without a model. */
        fun notNow(): Outcome {
            parts.program.close()
            return Outcome.Refused(text(R.string.state_kept, arrayOf<Any?>(file.path, reason)))
        }
    }

    /** What is open of a bundle before its learner state. */
    internal class Parts(
        val folder: File,
        val bundle: BundleFolder,
        val program: EtProgram,
        val methods: List<String>,
        val version: Long?,
        val notes: List<String>,
    ) {
        fun loaded(opener: StateOpener, ready: Opening.Ready): LoadedBundle {
            val (x, y) = bundle.d0()
            return LoadedBundle(
                folder, bundle.manifest, program, methods, version, x, y, opener, ready.state,
                ready.pending, notes + ready.notes, ready.personaliseAgain,
            )
        }
    }

    fun open(): Outcome = synchronized(LOCK) { openLocked() }

    private fun openLocked(): Outcome {
        val source = BundleSource(File(filesDir, HUB_FOLDER), pushed)
        val notes = ArrayList<String>()
        var choice = source.choose()
        while (true) {
            val parts = try {
                parts(choice, notes)
            } catch (e: Exception) { // CorruptBundle, or the runtime refused the program
                val why = if (e is CorruptBundle) e.message else "$e"
                Log.w(TAG, "bundle ${choice.folder} refused: $why")
                if (!choice.fromHub) return Outcome.Refused(refusal(choice.folder, e))
                val back = source.revert()
                notes += text(R.string.version_failed, arrayOf<Any?>(choice.version, why))
                choice = if (back) source.choose() else BundleSource.Choice(pushed, null)
                continue
            }
            return try {
                state(parts)
            } catch (e: IOException) {
                parts.program.close()
                Outcome.Refused(text(R.string.no_state, arrayOf<Any?>(e.message)))
            } catch (e: CorruptBundle) { // its D0 does not read as features and slots
                parts.program.close()
                Outcome.Refused(refusal(choice.folder, e))
            }
        }
    }

    private fun parts(choice: BundleSource.Choice, notes: List<String>): Parts {
        val bundle = BundleFolder.open(choice.folder)
        val program = EtProgram(bundle.manifest, bundle.program)
        try {
            val methods = program.methods
            return Parts(choice.folder, bundle, program, methods, choice.version, notes.toList())
        } catch (e: RuntimeException) {
            program.close()
            throw e
        }
    }

    private fun state(parts: Parts): Outcome {
        val m = parts.bundle.manifest
        val opener = StateOpener(File(filesDir, LEARNER_FOLDER), m, parts.bundle.weights())
        return when (val opened = opener.open()) {
            is Opening.Ready -> Outcome.Opened(parts.loaded(opener, opened))
            is Opening.Corrupt -> Outcome.Ask(Question(opened.file, opened.reason, parts, opener))
        }
    }

    private fun refusal(folder: File, e: Exception): String =
        if (e is CorruptBundle) {
            text(R.string.no_bundle, arrayOf<Any?>(folder.path, e.message))
        } else {
            text(R.string.no_program, arrayOf<Any?>(e.message))
        }

    companion object {
        const val HUB_FOLDER = "hub" // the hub client's root, under the app's private storage
        const val LEARNER_FOLDER = "learner"
        private const val TAG = "edgekit"

        /** Held while the learner's files are opened or written: a training session's save and
         * the next opening of the bundle never interleave. */
        val LOCK = Any()
    }
}
