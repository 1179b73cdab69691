/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.content;

public class Intent {
    public static final String ACTION_BATTERY_CHANGED = "android.intent.action.BATTERY_CHANGED";

    public Intent(String action) { throw new RuntimeException("Stub!"); }

    public int getIntExtra(String name, int defaultValue) { throw new RuntimeException("Stub!"); }
}
