/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.widget;

import android.text.Editable;

public class EditText extends TextView {
    @Override
    public Editable getText() { throw new RuntimeException("Stub!"); }
}
