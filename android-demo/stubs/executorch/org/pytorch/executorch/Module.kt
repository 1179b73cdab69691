/*
 * Compile-only stub for `make android-check`, never packaged: the members of
 * org.pytorch.executorch.Module that the app calls, signatures copied from ExecuTorch's
 * extension/android/executorch_android/src/main/java/org/pytorch/executorch/Module.kt
 * (the Kotlin class of release 1.5.x, org.pytorch:executorch-android:1.5.1; source read at
 * pytorch/executorch commit 1e81b4f1e08c8133dd8a8f002d3bbfab0f7605e1).
 */
package org.pytorch.executorch

import java.io.Closeable

open class Module private constructor() : Closeable {
    open fun execute(methodName: String, vararg inputs: EValue): Array<EValue> = stub()

    open fun getMethods(): Array<String> = stub()

    open fun destroy(): Unit = stub()

    override fun close(): Unit = stub()

    companion object {
        const val LOAD_MODE_FILE = 0

        @JvmStatic
        @JvmOverloads
        fun load(modelPath: String?, loadMode: Int = LOAD_MODE_FILE, numThreads: Int = 0): Module =
            stub()
    }
}

internal fun stub(): Nothing =
    throw UnsupportedOperationException("compile-only stub of ExecuTorch")
