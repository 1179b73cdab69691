package ai.edgekit.demo.ui

import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.LearnerState

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

    /** A training session produced [state] (saved) and left [pending] clips (saved): every
     * panel gets the bundle with the new model ([LoadedBundle.trained]). UI thread only. */
    fun trained(state: LearnerState, pending: ClipSet)
}
