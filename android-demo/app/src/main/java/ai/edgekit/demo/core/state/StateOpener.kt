package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.json.Fields
import ai.edgekit.demo.core.json.Json
import ai.edgekit.demo.core.json.JsonShapeError
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.LearnerState
import java.io.File
import java.io.IOException

/** What [StateOpener.open] found for the bundle being opened. */
sealed class Opening {
    /** The [state] to run and the [pending] clips; [notes] for the screen. [personaliseAgain]:
     * a new version handed the cached clips back (now pending) to be personalised again. */
    class Ready(
        val state: LearnerState,
        val pending: ClipSet,
        val notes: List<String>,
        val personaliseAgain: Boolean,
    ) : Opening()

    /** The saved [file] is unusable for [reason]: ask the user before [StateOpener.startAgain];
     * until then nothing is written over it. */
    class Corrupt(val file: File, val reason: String) : Opening()
}

/**
 * The learner's files for one bundle being opened, under [folder] (the app's private storage):
 * `state/` ([StateStore]: the trained weights, labels, feature cache), `clips/` ([PendingClips])
 * and [ORIGIN], the content digest of the bundle the saved state was trained on. [open] gives
 * the state to run:
 *
 * - a state trained on this bundle (or on one not recorded) is loaded; none: the bundle's own
 *   ([LearnerState.initial]); an unusable one: [Opening.Corrupt], the user decides;
 * - a state trained on another version of the bundle goes through [VersionPolicy]: the clips to
 *   personalise again join the pending clips, the old state file is kept beside as
 *   `learner_state.npz.previous-<time>` (the newest such file only), the new state is saved.
 *
 * Each step is written before the next starts (pending clips, old state aside, new state, the
 * digest), so a kill between two leaves files that [open] takes up again. Call from one thread
 * at a time; [manifest] and [weights] are the bundle's.
 */
class StateOpener(
    val folder: File,
    private val manifest: Manifest,
    private val weights: Map<String, NdArray.Float32>,
) {
    val store = StateStore(File(folder, "state"), manifest)
    val pending = PendingClips(File(folder, "clips"), manifest)
    private val origin = File(folder, ORIGIN)
    private var clips: ClipSet = ClipSet.empty(manifest.featureSize)
    private val notes = ArrayList<String>()

    fun open(): Opening {
        notes.clear()
        val read = pending.load()
        read.problem?.let { notes += "recorded clips not trained yet: $it" }
        clips = read.clips
        val trainedFor = trainedFor()
        if (trainedFor != null && trainedFor != manifest.digest && store.file.isFile) {
            val carried = try {
                CarriedState.read(store.file.readBytes(), store.file.path)
            } catch (e: CorruptState) {
                null // not readable even in part: load() reports it, the user decides
            } catch (e: IOException) {
                null
            }
            if (carried != null) return newVersion(carried)
        }
        return when (val load = store.load()) {
            is StateLoad.Missing -> ready(LearnerState.initial(manifest, weights))
            is StateLoad.Loaded -> ready(load.state)
            is StateLoad.Corrupt -> Opening.Corrupt(load.file, load.reason)
        }
    }

    /** After [Opening.Corrupt], as the user asked: the file set aside (kept, renamed) and the
     * bundle's own state to run. */
    fun startAgain(): Opening.Ready {
        val aside = store.setAside()
        notes += "the unusable state was kept as ${aside.name}; started from the bundle's weights"
        return ready(LearnerState.initial(manifest, weights))
    }

    private fun newVersion(carried: CarriedState): Opening.Ready {
        val start = VersionPolicy.start(carried, manifest, weights)
        if (start.retrain.size > 0) {
            clips = clips.merged(start.retrain)
            pending.save(clips)
        }
        val aside = store.setAside(PREVIOUS)
        store.folder.listFiles { f -> f.name.startsWith("${StateStore.STATE_FILE}.$PREVIOUS-") }
            .orEmpty()
            .filter { it != aside }
            .forEach { it.delete() } // one previous state is kept, as the Python device keeps
        store.save(start.state)
        notes += start.notes
        return ready(start.state, personaliseAgain = start.retrain.size > 0)
    }

    private fun ready(state: LearnerState, personaliseAgain: Boolean = false): Opening.Ready {
        if (trainedFor() != manifest.digest) {
            val text = Json.obj("bundle_digest" to Json.of(manifest.digest)).write()
            AtomicFiles.write(origin, text.toByteArray(Charsets.UTF_8))
        }
        return Opening.Ready(state, clips, notes.toList(), personaliseAgain)
    }

    /** The digest of the bundle the saved state was trained on; null: not recorded. */
    private fun trainedFor(): String? = try {
        Fields.parse(origin.readText(Charsets.UTF_8), origin.path).string("bundle_digest")
    } catch (e: IOException) {
        null
    } catch (e: JsonShapeError) {
        null
    }

    companion object {
        const val ORIGIN = "trained_on.json"
        const val PREVIOUS = "previous"
    }
}
