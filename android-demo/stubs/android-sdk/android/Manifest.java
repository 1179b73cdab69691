/*
 * Compile-only stub for `make android-check`: the part of the Android SDK (API 36, android.jar)
 * that the app calls, with the platform's signatures. Never packaged; Gradle builds against the
 * real SDK. Add a method here when the app starts calling it.
 */
package android;

public final class Manifest {
    public Manifest() { throw new RuntimeException("Stub!"); }

    public static final class permission {
        public permission() { throw new RuntimeException("Stub!"); }

        public static final String RECORD_AUDIO = "android.permission.RECORD_AUDIO";
    }
}
