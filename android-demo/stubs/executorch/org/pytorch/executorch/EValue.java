/*
 * Compile-only stub for `make android-check`, never packaged: the members of
 * org.pytorch.executorch.EValue that the app calls, signatures copied from ExecuTorch's
 * extension/android/executorch_android/src/main/java/org/pytorch/executorch/EValue.java
 * (release 1.5.x, org.pytorch:executorch-android:1.5.1; source read at pytorch/executorch
 * commit 292b5718545ad98439da8c97fb0e891ac75dec23).
 */
package org.pytorch.executorch;

public class EValue {
    private EValue() {}

    public boolean isTensor() { throw new UnsupportedOperationException("compile-only stub"); }

    public static EValue from(Tensor tensor) {
        throw new UnsupportedOperationException("compile-only stub");
    }

    public Tensor toTensor() { throw new UnsupportedOperationException("compile-only stub"); }
}
