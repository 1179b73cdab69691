package ai.edgekit.demo.core.state

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.io.AtomicFiles
import ai.edgekit.demo.core.train.LearnerState
import java.io.File
import java.io.IOException

/** What [StateStore.load] found: the app branches on it at start. */
sealed class StateLoad {
    /** No saved state: start from the bundle ([LearnerState.initial]). */
    object Missing : StateLoad()

    /** The saved state, checked whole. */
    class Loaded(val state: LearnerState) : StateLoad()

    /**
     * The saved [file] is unusable, for [reason]; it is left as it is and nothing of it was
     * loaded. Ask the user: to start again from the bundle's weights, [StateStore.setAside]
     * keeps it renamed beside; until then the store refuses to save over it.
     */
    class Corrupt(val file: File, val reason: String) : StateLoad()
}

/**
 * The app's learned state in [folder] (the app's private storage, for this store only), as the
 * Python device keeps it (`edgekit.device.state`, `state_folder`): one file, [STATE_FILE],
 * written whole or not at all (a temp file beside it, fsync, rename), so a save killed midway
 * leaves the previous state; the temp files of such saves are deleted when the store opens.
 * A corrupt state is never replaced silently: [load] says so and the user decides.
 *
 * One store per folder per process (its temp files are its own); call it from one thread at a
 * time (the training thread saves, the UI thread loads at start).
 */
class StateStore(val folder: File, private val manifest: Manifest) {
    val file: File = File(folder, STATE_FILE)
    private var checked = false // load() ran and found no corrupt state in the way

    init {
        if (!folder.isDirectory && !folder.mkdirs()) throw IOException("cannot create $folder")
        cleanTempFiles()
    }

    /** The saved state: missing, loaded, or corrupt (left untouched, for the user to decide). */
    fun load(): StateLoad {
        if (!file.exists()) return StateLoad.Missing.also { checked = true }
        val bytes = try {
            file.readBytes()
        } catch (e: IOException) {
            return StateLoad.Corrupt(file, "$file is not readable (${e.message})")
        }
        return try {
            StateLoad.Loaded(StateFormat.decode(bytes, manifest, file.path)).also { checked = true }
        } catch (e: CorruptState) {
            StateLoad.Corrupt(file, e.message ?: "$file is damaged")
        }
    }

    /** Write [state] atomically (write, fsync, rename). Refused before [load], and while a
     * corrupt state is in the way (not yet [setAside]); a state holding NaN or Inf is refused
     * and the file keeps what it held. */
    fun save(state: LearnerState) {
        check(checked) { "load() the state first: a corrupt one waits for the user's decision" }
        val bytes = StateFormat.encode(state, manifest.backboneHash)
        AtomicFiles.write(file, bytes)
    }

    /** Rename the state file to `<name>.<tag>-<UTC time>` beside it (kept for inspection) and
     * return where it went: the app then starts again from the bundle's weights. */
    fun setAside(tag: String = ASIDE_TAG): File {
        val target = AtomicFiles.setAside(file, tag)
        checked = true
        return target
    }

    /** Delete the temp files of saves killed before their rename; returns how many. */
    fun cleanTempFiles(): Int = AtomicFiles.cleanTemp(folder, STATE_FILE)

    /** Make the rename itself durable; best effort (some file systems refuse to sync a folder,
     * and the rename is atomic either way). */

    companion object {
        const val STATE_FILE = "learner_state.npz" // the Python device's name for it
        const val ASIDE_TAG = "corrupt"
    }
}
