/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.app;

import android.content.DialogInterface;

public class Dialog implements DialogInterface {
    @Override
    public void cancel() { throw new RuntimeException("Stub!"); }

    @Override
    public void dismiss() { throw new RuntimeException("Stub!"); }
}
