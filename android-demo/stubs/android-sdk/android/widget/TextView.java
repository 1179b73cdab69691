/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.widget;

import android.view.View;

public class TextView extends View {
    public CharSequence getText() { throw new RuntimeException("Stub!"); }

    public final void setText(CharSequence text) { throw new RuntimeException("Stub!"); }

    public final void setText(int resid) { throw new RuntimeException("Stub!"); }
}
