package ai.edgekit.demo.ui

/**
 * One section of the screen: its views come from a layout included in `activity_main.xml`,
 * found under the root view the activity passes it. To add a section: a layout
 * `res/layout/panel_NAME.xml`, an `<include>` of it with an id in `activity_main.xml`, a class
 * implementing this interface, and one line in `MainActivity.panels`.
 */
interface Panel {
    /** The bundle changed state. Before the next state comes, a panel stops using the bundle
     * it had (the activity closes that bundle once every panel returned from this call). A
     * [BundleState.Ready] whose bundle shares the program of the one before
     * ([LoadedBundle.sameOpening]) only brings a new model: the program stays open. */
    fun show(state: BundleState)

    /** The screen leaves the foreground: stop what runs (the microphone, a training run). */
    fun pause()

    /** The screen is gone: stop the panel's own threads (after [pause]). */
    fun close() = Unit
}
