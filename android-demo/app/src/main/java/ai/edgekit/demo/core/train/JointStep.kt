package ai.edgekit.demo.core.train

import ai.edgekit.demo.core.npy.NdArray

/** The loss of one forward-backward and the gradient of every trainable tensor (by manifest
 * name, each in C order of its manifest shape). */
class StepGradients(val loss: Float, val gradients: Map<String, FloatArray>)

/**
 * The program's `train_step` as training needs it (`edgekit.device.joint.JointMethod`): on the
 * phone, ExecuTorch's TrainingModule and SGD (`ai.edgekit.demo.runtime.EtTrainer`). It only
 * runs the runtime: deciding which steps to apply (finite loss and gradients) and clipping the
 * gradients are the [SgdSession]'s, so the same rules hold whatever runs the program.
 *
 * A batch is always the manifest's `trainBatch` rows: `features` `(trainBatch, featureSize)`
 * flat, `labels` the target slot of each row, `mask` one float per slot (1 live, 0 not).
 */
interface JointStep {
    /** Copy [weights] (by manifest name, manifest shapes) into the method's parameters. */
    fun load(weights: Map<String, NdArray.Float32>)

    /** Make the optimizer of a session: ONE per session, so its momentum carries over steps;
     * its momentum buffers start at zero. */
    fun startSession(learningRate: Double, momentum: Double)

    /** Forward + backward on one batch: its loss and gradients; no update. */
    fun gradients(features: FloatArray, labels: LongArray, mask: FloatArray): StepGradients

    /** One update of the session's optimizer with [gradients] (by manifest name). */
    fun step(gradients: Map<String, FloatArray>)

    /** A copy of the method's current parameters, by manifest name. */
    fun read(): Map<String, NdArray.Float32>
}
