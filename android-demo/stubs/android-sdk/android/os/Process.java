/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android.os;

public class Process {
    public static final int THREAD_PRIORITY_URGENT_AUDIO = -19;

    public Process() { throw new RuntimeException("Stub!"); }

    public static final void setThreadPriority(int priority)
            throws IllegalArgumentException, SecurityException {
        throw new RuntimeException("Stub!");
    }
}
