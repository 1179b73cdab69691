/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.content;

public abstract class BroadcastReceiver {
    public BroadcastReceiver() { throw new RuntimeException("Stub!"); }

    public abstract void onReceive(Context context, Intent intent);
}
