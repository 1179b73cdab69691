package ai.edgekit.demo.ui

import ai.edgekit.demo.core.bundle.Manifest
import ai.edgekit.demo.core.npy.NdArray
import ai.edgekit.demo.core.program.KwsProgram
import ai.edgekit.demo.core.state.StateOpener
import ai.edgekit.demo.core.train.ClipSet
import ai.edgekit.demo.core.train.LearnerState
import java.io.File

/**
 * A bundle the app runs: checked, its program loaded, and the model the panels use now, the
 * learner [state] saved for it (its trained weights, labels, live slots and feature cache):
 * [labels] of the slots in use, the live slots ([mask], 1 live, one value per slot) and the
 * trainable [weights] in the manifest's order. [version] is the hub version it is (null: the
 * bundle pushed by hand), [learner] its files (state and pending clips), [pending] the clips
 * recorded and not trained when it was opened, [notes] what opening it did that the user should
 * know, and [personaliseAgain] whether a new version handed the cached clips back to be trained.
 *
 * [trained] makes the next model of the same opening: both share the program, which the
 * activity closes once, when the bundle is opened again ([close]).
 */
class LoadedBundle(
    val folder: File,
    val manifest: Manifest,
    val program: KwsProgram,
    val methods: List<String>, // the program's method names
    val version: Long?,
    val d0Features: NdArray.Float32,
    val d0Labels: NdArray.Int64,
    val learner: StateOpener,
    val state: LearnerState,
    val pending: ClipSet,
    val notes: List<String>,
    val personaliseAgain: Boolean,
) : AutoCloseable {
    val labels: List<String> get() = state.labels
    val mask: FloatArray = state.slots(manifest.maxClasses).mask()
    val weights: List<NdArray.Float32> = manifest.trainable.map { state.weights.getValue(it.name) }

    /** The same opening with the model a session trained ([next]) and the clips it left. */
    fun trained(next: LearnerState, left: ClipSet) = LoadedBundle(
        folder, manifest, program, methods, version, d0Features, d0Labels, learner, next, left,
        notes = emptyList(), personaliseAgain = false,
    )

    /** Whether [other] is this opening of the bundle (the same program), perhaps retrained. */
    fun sameOpening(other: LoadedBundle?): Boolean = other?.program === program

    override fun close() = program.close()
}

/** Where the app's bundle stands: being opened, open, or refused (and why, for the user). */
sealed interface BundleState {
    data object Loading : BundleState

    class Ready(val bundle: LoadedBundle) : BundleState

    class Refused(val reason: String) : BundleState
}
