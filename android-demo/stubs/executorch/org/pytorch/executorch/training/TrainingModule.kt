/*
 * Compile-only stub for `make android-check`, never packaged: the members of
 * org.pytorch.executorch.training.TrainingModule that the app calls, signatures copied from
 * ExecuTorch's extension/android/executorch_android/src/main/java/org/pytorch/executorch/
 * training/TrainingModule.kt (release 1.5.x, org.pytorch:executorch-android:1.5.1; source
 * read at pytorch/executorch commit 2052786843d71ae325e9eb61d1035887dcbc240f).
 * namedParameters / namedGradients work only after a first executeForwardBackward.
 * Releasing differs between the class's versions (the Kotlin one is Closeable, the Java one has
 * destroy()), so the app calls neither and the runtime frees the module when it is collected.
 */
package org.pytorch.executorch.training

import org.pytorch.executorch.EValue
import org.pytorch.executorch.Tensor

class TrainingModule private constructor() {
    fun executeForwardBackward(methodName: String, vararg inputs: EValue): Array<EValue> = stub()

    fun namedParameters(methodName: String): Map<String, Tensor> = stub()

    fun namedGradients(methodName: String): Map<String, Tensor> = stub()

    companion object {
        @JvmStatic
        fun load(modelPath: String, dataPath: String): TrainingModule = stub()

        @JvmStatic
        fun load(modelPath: String): TrainingModule = stub()
    }
}

internal fun stub(): Nothing =
    throw UnsupportedOperationException("compile-only stub of ExecuTorch")
