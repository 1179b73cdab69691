/*
 * Compile-only stub for `make android-check`, never packaged: the members of
 * org.pytorch.executorch.training.SGD that the app calls, signatures copied from ExecuTorch's
 * extension/android/executorch_android/src/main/java/org/pytorch/executorch/training/SGD.kt
 * (release 1.5.x, org.pytorch:executorch-android:1.5.1; source read at pytorch/executorch
 * commit 0bf8a70f4f7b65906a998662901f6e0980e03a97). step() updates the parameters in place.
 */
package org.pytorch.executorch.training

import org.pytorch.executorch.Tensor

class SGD private constructor() {
    fun step(namedGradients: Map<String, Tensor>): Unit = stub()

    companion object {
        @JvmStatic
        fun create(
            namedParameters: Map<String, Tensor>,
            learningRate: Double,
            momentum: Double,
            dampening: Double,
            weightDecay: Double,
            nesterov: Boolean,
        ): SGD = stub()

        @JvmStatic
        fun create(namedParameters: Map<String, Tensor>, learningRate: Double): SGD = stub()
    }
}
