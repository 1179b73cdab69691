package ai.edgekit.demo.ui

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.KwsProgram
import java.io.File

/**
 * A bundle the app runs: checked, its program loaded, and the model the panels use now: the
 * label of each slot in use ([labels]), the live slots ([mask], 1 live, one value per slot)
 * and the trainable weights in the manifest's order ([weights]). Closing it frees the program.
 */
class LoadedBundle(
    val folder: File,
    val manifest: Manifest,
    val program: KwsProgram,
    val methods: List<String>, // the program's method names
    val labels: List<String>,
    val mask: FloatArray,
    val weights: List<NdArray.Float32>,
) : AutoCloseable {
    override fun close() = program.close()
}

/** Where the app's bundle stands: being opened, open, or refused (and why, for the user). */
sealed interface BundleState {
    data object Loading : BundleState

    class Ready(val bundle: LoadedBundle) : BundleState

    class Refused(val reason: String) : BundleState
}

/** What a panel may ask of the screen that holds it (the activity). */
interface PanelHost {
    /** Runs [action] on the UI thread. */
    fun onUi(action: () -> Unit)

    /** The string resource [id] formatted with [args]. */
    fun text(id: Int, vararg args: Any?): String

    /** Opens the bundle again; every panel sees [BundleState.Loading], then the outcome. */
    fun reload()

    /** Runs [granted] once the user allows recording (at once if allowed), else [denied]. */
    fun withMicrophone(granted: () -> Unit, denied: () -> Unit)
}

/**
 * One section of the screen: its views come from a layout included in `activity_main.xml`,
 * found under the root view the activity passes it. To add a section: a layout
 * `res/layout/panel_NAME.xml`, an `<include>` of it with an id in `activity_main.xml`, a class
 * implementing this interface, and one line in `MainActivity.panels`.
 */
interface Panel {
    /** The bundle changed state. Before the next state comes, a panel stops using the bundle
     * it had (the activity closes that bundle once every panel returned from this call). */
    fun show(state: BundleState)

    /** The screen leaves the foreground: stop what runs (the microphone, a training run). */
    fun pause()
}
