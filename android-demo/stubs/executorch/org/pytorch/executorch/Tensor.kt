/*
 * Compile-only stub for `make android-check`, never packaged: the members of
 * org.pytorch.executorch.Tensor that the app calls, signatures copied from ExecuTorch's
 * extension/android/executorch_android/src/main/java/org/pytorch/executorch/Tensor.kt
 * (release 1.5.x, org.pytorch:executorch-android:1.5.1; source read at pytorch/executorch
 * commit 00b2942d3ae5bf1bd232985007701b5d3d6c07c1). A tensor that the training API returns
 * wraps the runtime's memory: writing into getRawDataBuffer() writes the parameter.
 */
package org.pytorch.executorch

import java.nio.Buffer

abstract class Tensor internal constructor(shape: LongArray) {
    fun shape(): LongArray = stub()

    open val dataAsFloatArray: FloatArray
        get() = stub()

    open val dataAsLongArray: LongArray
        get() = stub()

    open fun getRawDataBuffer(): Buffer = stub()

    companion object {
        @JvmStatic
        fun fromBlob(data: FloatArray, shape: LongArray): Tensor = stub()

        @JvmStatic
        fun fromBlob(data: LongArray, shape: LongArray): Tensor = stub()
    }
}
